"""One import record, checked: its key, category, ``as_of`` and data.

A record is ``{"account": …}`` or ``{"certificate": {"issuer_hash", "serial", "not_after"?}}``
(the user-authentication certificate's binding, as ``idp.login.accounts`` computes it), plus
``category``, ``data`` and optionally ``as_of``. ``check_record`` turns a parsed object into an
``ImportRecord`` or raises ``Rejected`` with a reason that names fields, never their values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from .categories import is_category, validator
from .my_number import my_number_reason

MEMBERS = {"account", "certificate", "category", "data", "as_of"}
CERTIFICATE_MEMBERS = {"issuer_hash", "serial", "not_after"}
ISSUER_HASH = re.compile(r"[0-9a-f]{64}")
SERIAL = re.compile(r"[0-9A-Fa-f]{1,40}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_REASONS = 3
NOT_CHECKED_FOR_MY_NUMBER = frozenset({"certificate.serial", "certificate.issuer_hash"})
"""Hex identifiers of the certificate: a serial may well be twelve decimal-looking digits."""


class Rejected(Exception):
    """The record is refused; ``str(self)`` says why, without the data's values."""


@dataclass(frozen=True)
class CertificateKey:
    issuer_hash: str
    """SHA-256 hex (lower case) of the issuer Name's DER."""
    serial: str
    """Upper-case hex without leading zeros: the spelling ``CertificateBinding`` stores."""
    not_after: int | None


@dataclass(frozen=True)
class ImportRecord:
    category: str
    data: dict[str, Any]
    as_of: str | None
    account: str | None = None
    certificate: CertificateKey | None = None


def check_record(value: Any) -> ImportRecord:
    """The record if it is acceptable; ``Rejected`` naming the first problem otherwise."""
    if not isinstance(value, dict):
        raise Rejected("a record must be a JSON object")
    if reason := my_number_reason(value, exempt=NOT_CHECKED_FOR_MY_NUMBER):
        raise Rejected(reason)
    if unknown := sorted(set(value) - MEMBERS):
        raise Rejected(f"unknown member(s) {_names(unknown)}; expected {_names(sorted(MEMBERS))}")
    category = value.get("category")
    if not is_category(category):
        raise Rejected(f"unknown category {_shown(category)}")
    account, certificate = _key(value)
    as_of = _as_of(value.get("as_of"))
    data = value.get("data")
    if not isinstance(data, dict):
        raise Rejected("'data' must be a JSON object")
    if errors := schema_errors(category, data):
        raise Rejected(f"data does not match the {category} schema: " + "; ".join(errors))
    return ImportRecord(category, data, as_of, account, certificate)


def _key(value: dict) -> tuple[str | None, CertificateKey | None]:
    account, certificate = value.get("account"), value.get("certificate")
    if (account is None) == (certificate is None):
        raise Rejected("give exactly one key: 'account' or 'certificate'")
    if account is not None:
        if not isinstance(account, str) or not 0 < len(account) <= 43 or not account.isprintable():
            raise Rejected("'account' must be an account id (1 to 43 characters)")
        return account, None
    if not isinstance(certificate, dict):
        raise Rejected("'certificate' must be an object with issuer_hash, serial, not_after")
    if unknown := sorted(set(certificate) - CERTIFICATE_MEMBERS):
        raise Rejected(f"unknown member(s) of 'certificate': {_names(unknown)}")
    issuer, serial = certificate.get("issuer_hash"), certificate.get("serial")
    if not isinstance(issuer, str) or not ISSUER_HASH.fullmatch(issuer):
        raise Rejected("certificate.issuer_hash must be 64 lower-case hex digits (SHA-256)")
    if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
        raise Rejected("certificate.serial must be the serial number in hex (1 to 40 digits)")
    not_after = certificate.get("not_after")
    if not_after is not None and (
        isinstance(not_after, bool) or not isinstance(not_after, int) or not_after <= 0
    ):
        raise Rejected("certificate.not_after must be a positive integer (epoch seconds)")
    return None, CertificateKey(issuer, f"{int(serial, 16):X}", not_after)


def _as_of(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise Rejected("'as_of' must be a date, YYYY-MM-DD") from None


def schema_errors(category: str, data: Any) -> list[str]:
    """Up to ``MAX_REASONS`` schema violations, each as "where: what was expected"."""
    errors = sorted(validator(category).iter_errors(data), key=_where)
    reasons = list(dict.fromkeys(describe(e) for e in errors))  # one "missing" per object
    if len(reasons) > MAX_REASONS:
        return [*reasons[:MAX_REASONS], f"and {len(reasons) - MAX_REASONS} more"]
    return reasons


def describe(error: ValidationError) -> str:
    """One violation in words built from the schema, never from the value (jsonschema's own
    messages quote the value, which would put personal data in the operator's terminal)."""
    expected, instance = error.validator_value, error.instance
    match error.validator:
        case "required":
            missing = [n for n in expected if isinstance(instance, dict) and n not in instance]
            what = f"missing {_names(missing)}"
        case "additionalProperties":
            known = set(error.schema.get("properties", {}))
            extra = sorted(str(n) for n in instance if n not in known)
            what = f"unexpected member(s) {_names(extra)}"
        case "type":
            what = f"must be of type {_alternatives(expected)}"
        case "enum":
            what = f"must be one of {_alternatives(expected)}"
        case "const":
            what = f"must be {_shown(expected)}"
        case "format":
            what = f"must be a valid {expected}"
        case "pattern":
            what = f"must match {expected}"
        case validator if validator in BOUNDS:
            what = _bound(validator, expected)
        case "uniqueItems":
            what = "must not repeat an item"
        case _:
            what = f"fails {error.validator}"
    return f"{_where(error)}: {what}"


BOUNDS = {
    "minimum": "must be ≥",
    "maximum": "must be ≤",
    "exclusiveMinimum": "must be >",
    "exclusiveMaximum": "must be <",
    "minLength": "must have at least",
    "maxLength": "must have at most",
    "minItems": "must have at least",
    "maxItems": "must have at most",
}
"""The bounding keywords, each with the words that precede its bound."""


def _bound(validator: str, expected: Any) -> str:
    """A value, length or size bound in words; the unit follows lengths and sizes."""
    if validator.endswith("Length"):
        return f"{BOUNDS[validator]} {expected} characters"
    if validator.endswith("Items"):
        return f"{BOUNDS[validator]} {expected} items"
    return f"{BOUNDS[validator]} {expected}"


def _where(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return _printable("data" + path)


def _names(names: list[str]) -> str:
    return ", ".join(repr(_printable(str(n), 40)) for n in names)


def _alternatives(expected: Any) -> str:
    values = expected if isinstance(expected, list) else [expected]
    return " or ".join(_shown(v) for v in values)


def _shown(value: Any) -> str:
    """A short rendering of a schema value or a category name."""
    text = value if isinstance(value, str) else repr(value)
    return repr(_printable(text, 40)) if isinstance(value, str) else _printable(text, 40)


def _printable(text: str, limit: int = 80) -> str:
    clean = "".join(c for c in text if c.isprintable())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
