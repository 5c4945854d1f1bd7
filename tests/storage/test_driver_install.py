"""Production runs on PostgreSQL: the documented install must bring the driver its documented
database URL names, through pyproject's ``postgresql`` extra, not only the dev extra."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import sqlalchemy as sa
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
OPERATORS = ROOT / "docs" / "operators.md"


def _extras() -> dict[str, set[str]]:
    """pyproject's optional dependencies: extra -> the distribution names it requires."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    return {name: {Requirement(r).name for r in required} for name, required in extras.items()}


def _documented_drivers() -> set[str]:
    """The drivers of every database URL operators.md and config/production.toml give."""
    text = OPERATORS.read_text() + (ROOT / "config" / "production.toml").read_text()
    urls = re.findall(r"\bpostgresql\+\w+://\S+?(?=[`\s])", text)
    assert urls, "no database URL in the operators' guide or config/production.toml"
    return {sa.engine.make_url(url).get_driver_name() for url in urls}


def test_the_postgresql_extra_brings_the_documented_driver():
    assert _documented_drivers() == {"psycopg"}
    assert "psycopg" in _extras()["postgresql"]
    assert "psycopg" in _extras()["dev"]  # the tests run PostgreSQL too


def test_the_documented_install_names_an_extra_with_the_driver():
    installs = re.findall(r"pip install '[^'\s]*\[([\w,-]+)\]'", OPERATORS.read_text())
    assert installs, "operators.md gives no pip install with an extra"
    extras = _extras()
    for named in installs:
        required = set().union(*(extras[extra] for extra in named.split(",")))
        assert _documented_drivers() <= required, named
