"""Refusing anything that looks like a My Number (個人番号) before it is stored.

Self-information is keyed by the card-linked account, never by the My Number (issue 7 §3,
domain.md), and the IdP must never store one. An import file prepared from a municipal system
may still carry it, so every record is searched: a key named like one (``my_number``,
``individual_number``, ``kojin_bango``, 個人番号, マイナンバー, …) or a value that is a bare
12-digit number (the My Number's form; no schema field holds one). The reason names the field,
never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

KEY_MARKERS = ("mynumber", "individualnumber", "kojinbango", "個人番号", "マイナンバー")
"""Substrings of a normalised key (lower case, only letters, digits and CJK kept)."""
EXACT_KEYS = {"myno", "mynum", "kojinno", "bango"}
TWELVE_DIGITS = re.compile(r"\d{4}[ -]?\d{4}[ -]?\d{4}")
_NOT_NAME = re.compile(r"[\W_]+")


def looks_like_my_number_key(key: str) -> bool:
    normal = _NOT_NAME.sub("", key.casefold())
    return normal in EXACT_KEYS or any(marker in normal for marker in KEY_MARKERS)


def looks_like_my_number_value(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 10**11 <= value < 10**12
    return isinstance(value, str) and TWELVE_DIGITS.fullmatch(value.strip()) is not None


def my_number_reason(record: Any, exempt: frozenset[str] = frozenset()) -> str | None:
    """Why ``record`` is refused as carrying a My Number, or None if nothing looks like one.

    ``exempt``: paths (``certificate.serial``) whose values are identifiers of another kind;
    their names are still checked.
    """
    for path, key, value in _walk(record, ""):
        where = _printable(path)
        if key is not None and looks_like_my_number_key(key):
            return f"field {where} is named like a My Number; My Numbers are never imported"
        if path not in exempt and looks_like_my_number_value(value):
            return (
                f"field {where} holds a 12-digit number, the form of a My Number; "
                "My Numbers are never imported"
            )
    return None


def _walk(value: Any, path: str) -> Iterable[tuple[str, str | None, Any]]:
    """(path, key, value) for every member, depth first; keys are reported, values never."""
    if isinstance(value, dict):
        for key, member in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key), member
            yield from _walk(member, where)
    elif isinstance(value, list):
        for index, member in enumerate(value):
            where = f"{path}[{index}]"
            yield where, None, member
            yield from _walk(member, where)


def _printable(text: str, limit: int = 80) -> str:
    """A field name fit for a one-line report: control characters dropped, length capped."""
    clean = "".join(c for c in text if c.isprintable())
    return repr(clean if len(clean) <= limit else clean[: limit - 1] + "…")
