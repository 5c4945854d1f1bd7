"""The self-information categories and the JSON Schema (2020-12) each one's data follows.

The categories themselves are fixed in ``idp.oidc.claims`` (they are scopes); this module ties
each to ``schemas/<category>.json``. A missing or invalid schema stops the app at start-up
(``check_schemas``), not at the first import or read.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ..oidc.claims import SELFINFO_CATEGORIES

CATEGORIES = SELFINFO_CATEGORIES
RESPONSE_SCHEMA = "response"
"""The envelope of a 200 answer (``schemas/response.json``)."""


def scope_of(category: str) -> str:
    """The scope (and consent item id) that grants reading this category."""
    return f"selfinfo:{category}"


def is_category(name: object) -> bool:
    return isinstance(name, str) and name in CATEGORIES


@cache
def schema(name: str) -> dict[str, Any]:
    """The schema document of a category (or ``response``), as shipped with the package."""
    if name not in (*CATEGORIES, RESPONSE_SCHEMA):
        raise KeyError(name)
    text = resources.files(__package__).joinpath("schemas", f"{name}.json").read_text("utf-8")
    return json.loads(text)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator that also checks ``format`` (dates): a 2026-02-30 is refused, not stored."""
    return Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_schemas() -> None:
    """Every category has a valid schema; raise ``RuntimeError`` naming the first that is not."""
    for name in (*CATEGORIES, RESPONSE_SCHEMA):
        try:
            Draft202012Validator.check_schema(schema(name))
        except (OSError, ValueError, SchemaError) as e:
            raise RuntimeError(f"self-information schema {name!r} is unusable: {e}") from e
