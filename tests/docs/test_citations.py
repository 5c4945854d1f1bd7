"""Every document the repository's files cite exists in the repository, with the section cited.

A clone alone must be enough to follow a comment: ``docs/jpki.md §6.7`` names a file of this
repository and a section of it (a ``## 6.`` heading, then its numbered item 7 or a ``### 6.7``
heading). Issue numbers are not citations (the tracker is not part of a clone): no file may
mention one.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY_SUFFIXES = {".mo", ".png", ".ico", ".pdf", ".der", ".pem", ".gz", ".sqlite3"}
NUMBER = r"\d+(?:\.\d+)*"
CITATION = re.compile(
    r"(?<![\w/.:-])(?P<doc>[\w./-]*[\w-]\.md)\b[`'\")\]]*"
    rf"(?P<sections>(?:,?\s*§\s*{NUMBER}(?:\s*(?:,|and|, and)\s*§\s*{NUMBER})*)?)"
)
SECTION = re.compile(rf"§\s*({NUMBER})")
ISSUE = re.compile(r"\b[Ii]ssues?\s*#?\s*\d+")
HEADING = re.compile(rf"^#{{2,4}}\s+({NUMBER})\.?\s")
ITEM = re.compile(r"^(\d+)\.\s")
THIS_FILE = Path(__file__).resolve()


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored, except binaries and this test (its examples)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    paths = (ROOT / name for name in listed)
    return [
        path
        for path in paths
        if path.is_file() and path.suffix not in BINARY_SUFFIXES and path.resolve() != THIS_FILE
    ]


def resolve(cited: str, citing: Path) -> Path | None:
    """The cited document: relative to the repository, to the citing file, or to ``docs/``."""
    for base in (ROOT, citing.parent, ROOT / "docs"):
        candidate = (base / cited).resolve()
        if candidate.is_file() and candidate.is_relative_to(ROOT):
            return candidate
    return None


@cache
def sections(document: Path) -> frozenset[str]:
    """``N`` per ``## N.`` heading; ``N.M`` per ``### N.M`` heading or numbered item under it."""
    found: set[str] = set()
    current: str | None = None
    fenced = False
    for line in document.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        if heading := HEADING.match(line):
            found.add(heading.group(1))
        if line.startswith("## "):
            current = heading.group(1) if heading else None
        elif current is not None and (item := ITEM.match(line)):
            found.add(f"{current}.{item.group(1)}")
    return frozenset(found)


def problems(text: str, citing: Path) -> list[str]:
    """``line: what is wrong`` for each issue number and each citation that does not resolve."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for mention in ISSUE.finditer(line):
            found.append(f"{number}: mentions {mention.group(0)!r}")
        for citation in CITATION.finditer(line):
            cited = citation.group("doc")
            document = resolve(cited, citing)
            if document is None:
                found.append(f"{number}: cites {cited}, which is not in the repository")
                continue
            for section in SECTION.findall(citation.group("sections")):
                if section not in sections(document):
                    found.append(f"{number}: cites {cited} §{section}, which it does not have")
    return found


def test_every_cited_document_and_section_exists_and_no_issue_is_named():
    found = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(ROOT)}:{line}" for line in problems(text, path)]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("see docs/jpki.md §6.7 and §4", []),
        ("(jpki.md §1, §6.3, §6.5)", []),
        ("docs/operators.md §1, §10", []),
        ("see https://example.org/notes/style.md", []),
        ("the issuer name, the issued token", []),
        ("see docs/jpki.md §19", ["cites docs/jpki.md §19"]),
        ("see docs/jpki.md §6.10", ["cites docs/jpki.md §6.10"]),
        ("(style.md habit 2)", ["cites style.md, which"]),
        ("as in docs/jpki.md §2 and §12", ["cites docs/jpki.md §12"]),
        ("as issue 4 §2 says", ["mentions 'issue 4'"]),
        ("see Issue #12", ["mentions 'Issue #12'"]),
    ],
)
def test_the_check_accepts_good_citations_and_reports_bad_ones(line, expected):
    found = [problem.split(": ", 1)[1] for problem in problems(line, ROOT / "idp" / "x.py")]
    assert len(found) == len(expected), found
    for problem, wanted in zip(found, expected, strict=True):
        assert problem.startswith(wanted)
