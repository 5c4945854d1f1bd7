"""The basic four facts (基本4情報) from a signing certificate's subjectAltName (docs/jpki.md §2).

Six otherNames under ``1.2.392.200149.8.5.5``, each a UTF8String in ``[0] EXPLICIT``. We parse
them ourselves and strictly: a missing, repeated or malformed field is ``Malformed``, never a
guess, because these values become verified claims about a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from idp.jpki.der import DerError, read_utf8_string
from idp.jpki.errors import Malformed

_ARC = "1.2.392.200149.8.5.5."
OID_NAME = ObjectIdentifier(_ARC + "1")
OID_NAME_FLAGS = ObjectIdentifier(_ARC + "2")
OID_GENDER = ObjectIdentifier(_ARC + "3")
OID_BIRTHDATE = ObjectIdentifier(_ARC + "4")
OID_ADDRESS = ObjectIdentifier(_ARC + "5")
OID_ADDRESS_FLAGS = ObjectIdentifier(_ARC + "6")
FIELDS = (OID_NAME, OID_NAME_FLAGS, OID_GENDER, OID_BIRTHDATE, OID_ADDRESS, OID_ADDRESS_FLAGS)
MAX_ADDRESS = 200
ERA_DIGITS = "012345"
"""0 unknown, 1 Meiji, 2 Taishō, 3 Shōwa, 4 Heisei, 5 Reiwa; the date itself is Gregorian."""


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNSPECIFIED = "unspecified"


GENDER_CODES = {"1": Gender.MALE, "2": Gender.FEMALE, "3": Gender.UNSPECIFIED}


@dataclass(frozen=True)
class BasicFourFacts:
    """What the signing certificate says about its holder, as J-LIS recorded it."""

    name: str
    """Family name, U+3000, given name; substituted characters as J-LIS wrote them."""
    name_substituted: tuple[bool, ...]
    """Per character of ``name``: True where J-LIS put a substitute character."""
    address: str
    address_substituted: tuple[bool, ...]
    birthdate: dt.date
    gender: Gender


def read_basic_four_facts(certificate: x509.Certificate) -> BasicFourFacts:
    """Parse the six otherNames, or raise ``Malformed``."""
    values = _other_names(certificate)
    name, address = values[OID_NAME], values[OID_ADDRESS]
    if not name or "\u3000" not in name:
        raise Malformed("name has no family/given separator")
    if not address or len(address) > MAX_ADDRESS:
        raise Malformed("address empty or too long")
    return BasicFourFacts(
        name=name,
        name_substituted=parse_flags(values[OID_NAME_FLAGS], name),
        address=address,
        address_substituted=parse_flags(values[OID_ADDRESS_FLAGS], address),
        birthdate=parse_birthdate(values[OID_BIRTHDATE]),
        gender=parse_gender(values[OID_GENDER]),
    )


def _other_names(certificate: x509.Certificate) -> dict[ObjectIdentifier, str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise Malformed("signing certificate without subjectAltName") from None
    values: dict[ObjectIdentifier, str] = {}
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id not in FIELDS:
            continue
        if other.type_id in values:
            raise Malformed(f"repeated field {other.type_id.dotted_string}")
        try:
            values[other.type_id] = read_utf8_string(other.value)
        except DerError as error:
            raise Malformed(f"field {other.type_id.dotted_string}: {error}") from None
    missing = [oid.dotted_string for oid in FIELDS if oid not in values]
    if missing:
        raise Malformed(f"missing fields {missing}")
    return values


def parse_flags(flags: str, text: str) -> tuple[bool, ...]:
    """One ``0``/``1`` per character of ``text`` (docs/jpki.md §2, .2 and .6)."""
    if len(flags) != len(text) or set(flags) - {"0", "1"}:
        raise Malformed("substitution flags do not match their text")
    return tuple(flag == "1" for flag in flags)


def parse_birthdate(value: str) -> dt.date:
    """``EYYYYMMDD``: era digit, then the Gregorian date; zeros are refused (docs/jpki.md §2)."""
    if len(value) != 9 or not value.isascii() or not value.isdigit() or value[0] not in ERA_DIGITS:
        raise Malformed("birth date is not EYYYYMMDD")
    try:
        return dt.date(int(value[1:5]), int(value[5:7]), int(value[7:9]))
    except ValueError:
        raise Malformed("birth date is not a calendar date") from None


def parse_gender(value: str) -> Gender:
    try:
        return GENDER_CODES[value]
    except KeyError:
        raise Malformed("gender is not 1, 2 or 3") from None
