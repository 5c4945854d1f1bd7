"""Refusing anything that looks like a My Number (個人番号) before it is stored.

Self-information is keyed by the card-linked account, never by the My Number (docs/domain.md
§1, §4), and the IdP must never store one. An import file prepared from a municipal system
may still carry it, so every record is searched, keys and values, after NFKC normalisation
(full-width digits and spaces become ASCII):

- a key named like one (``my_number``, ``individual_number``, ``kojin_bango``, 個人番号,
  マイナンバー, …);
- a 12-digit integer;
- anywhere inside a text (``個人番号 123456789012``, ``No.1234-5678-9012``): a run of exactly
  12 digits; digit groups joined by separators (1–3 characters that are neither letters nor
  digits: spaces, dots, hyphens, slashes, …) that hold 12 digits in all (``1234.5678.9012``);
  and, inside a longer such chain (``1234 5678 9018 2024``), any consecutive groups holding 12
  digits that end in a valid My Number check digit. The check digit only spares those partial
  windows (most card numbers and date ranges): every real My Number has a valid one, and a
  whole 12-digit run or chain is refused whatever its last digit (so is ``+81 90 1234 5678``).

No schema field holds such a number. The reason names the field, never the value; a key that
holds the digits is not named at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

KEY_MARKERS = ("mynumber", "individualnumber", "kojinbango", "個人番号", "マイナンバー")
"""Substrings of a normalised key (NFKC, lower case, only letters, digits and CJK kept)."""
EXACT_KEYS = {"myno", "mynum", "kojinno", "bango"}
DIGITS = 12
MAX_SEPARATOR = 3
"""Characters between two digit groups of one number (``1234 - 5678``)."""
_NOT_NAME = re.compile(r"[\W_]+")
_GROUP = re.compile(r"\d+")


def looks_like_my_number_key(key: str) -> bool:
    normal = _NOT_NAME.sub("", unicodedata.normalize("NFKC", key).casefold())
    return normal in EXACT_KEYS or any(marker in normal for marker in KEY_MARKERS)


def looks_like_my_number_value(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return 10 ** (DIGITS - 1) <= abs(value) < 10**DIGITS
    return isinstance(value, str) and holds_my_number(value)


def holds_my_number(text: str) -> bool:
    """Whether ``text`` carries something of a My Number's form (the module's rules)."""
    normal = unicodedata.normalize("NFKC", text)
    for chain in _chains(normal):
        sizes = [len(group) for group in chain]
        if DIGITS in sizes or sum(sizes) == DIGITS:
            return True
        for start in range(len(chain)):
            total = 0
            for end in range(start, len(chain)):
                total += sizes[end]
                if total == DIGITS and check_digit_valid("".join(chain[start : end + 1])):
                    return True
                if total >= DIGITS:
                    break
    return False


def check_digit_valid(digits: str) -> bool:
    """The My Number's check digit (個人番号 check digit, 行政手続における特定の個人を識別する
    ための番号の利用等に関する法律施行令 §8 and its ministerial order): weights 2–7, 2–6 from
    the digit next to it leftwards, modulo 11."""
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return False
    body = [int(d) for d in reversed(digits[:-1])]
    total = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    remainder = total % 11
    return int(digits[-1]) == (0 if remainder <= 1 else 11 - remainder)


def _chains(text: str) -> Iterable[list[str]]:
    """Digit groups joined by short runs of characters that are neither letters nor digits."""
    chain: list[str] = []
    last_end = None
    for match in _GROUP.finditer(text):
        between = text[last_end : match.start()] if last_end is not None else ""
        joined = (
            last_end is not None
            and 0 < len(between) <= MAX_SEPARATOR
            and not any(c.isalnum() for c in between)
        )
        if chain and not joined:
            yield chain
            chain = []
        chain.append(match.group())
        last_end = match.end()
    if chain:
        yield chain


def my_number_reason(record: Any, exempt: frozenset[str] = frozenset()) -> str | None:
    """Why ``record`` is refused as carrying a My Number, or None if nothing looks like one.

    ``exempt``: paths (``certificate.serial``) whose values are identifiers of another kind;
    their names are still checked.
    """
    for path, key, value in _walk(record, ""):
        if key is not None and holds_my_number(key):
            return "a field name holds a 12-digit number; My Numbers are never imported"
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
