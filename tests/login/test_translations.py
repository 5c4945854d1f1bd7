"""The gettext catalogues are complete: every text of every package's citizen pages has a Japanese
translation, none is fuzzy, and none is left over from texts that no longer exist. Each package with
pages keeps its own catalogue in ``idp/<package>/translations``."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.login.cards import ROOT

PACKAGES = sorted(p.parent.parent.name for p in (ROOT / "idp").glob("*/translations/babel.cfg"))
LANGUAGES = ("ja",)
"""English is the source language: its texts are the msgids themselves."""
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _source_texts(package: str) -> set[str]:
    method_map = [
        (f"idp/{package}/**.py", "python"),
        (f"idp/{package}/templates/**.html", "jinja2"),
    ]
    found = extract_from_dir(str(ROOT), method_map=method_map)
    return {message for _file, _line, message, _comments, _context in found if message}


def _catalogue(package: str, language: str):
    path = ROOT / "idp" / package / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f)


def test_the_login_pages_have_a_catalogue():
    assert "login" in PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_every_text_is_translated_and_nothing_is_fuzzy(package):
    texts = {t if isinstance(t, str) else t[0] for t in _source_texts(package)}
    assert texts, f"{package}: a catalogue but no texts"
    for language in LANGUAGES:
        catalogue = _catalogue(package, language)
        assert not catalogue.fuzzy, f"{package}/{language}: the catalogue header is fuzzy"
        entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
        missing = sorted(texts - entries.keys())
        assert not missing, f"{package}/{language}: not in the catalogue: {missing}"
        untranslated = sorted(i for i, m in entries.items() if not m.string)
        assert not untranslated, f"{package}/{language}: untranslated: {untranslated}"
        fuzzy = sorted(i for i, m in entries.items() if m.fuzzy)
        assert not fuzzy, f"{package}/{language}: fuzzy: {fuzzy}"
        stale = sorted(entries.keys() - texts)
        assert not stale, f"{package}/{language}: no longer used: {stale}"


@pytest.mark.parametrize("package", PACKAGES)
def test_placeholders_survive_translation(package):
    for language in LANGUAGES:
        for message in _catalogue(package, language):
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else message.string
            wanted = {p for i in ids for p in PLACEHOLDER.findall(i)}
            got = {p for s in strings for p in PLACEHOLDER.findall(s)}
            assert wanted == got, (package, language, message.id)
