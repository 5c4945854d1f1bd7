"""The JPKI core stays a library: its observers are plain protocols, it imports no metrics."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

JPKI = Path(__file__).resolve().parents[2] / "idp" / "jpki"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            found.add(prefix + (node.module or ""))
    return found


@pytest.mark.parametrize("path", sorted(JPKI.glob("*.py")), ids=lambda p: p.name)
def test_nothing_in_the_jpki_core_imports_metrics_or_flask(path):
    imported = _imports(path)
    assert not [
        name
        for name in imported
        if name.split(".")[0] in ("flask", "prometheus_client")
        or "metrics" in name
        or name.startswith("..")
    ]
