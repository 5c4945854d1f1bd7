"""The CRL and CRL-entry extensions we understand (RFC 5280 §5.2, §5.3), read from raw DER.

The streaming reader (crl_stream.py) hands over raw bytes; these functions interpret the few
extensions a J-LIS CRL carries and refuse any unknown critical one (§5.2: a CRL with an
unrecognised critical extension must not be used). IssuingDistributionPoint is accepted only
when it narrows nothing (no onlySomeReasons, indirectCRL, CA-only or attribute-only scope),
since a partial CRL cannot prove a certificate unrevoked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from idp.jpki.der import DerError, read_header
from idp.jpki.errors import CrlRejected

OID_CRL_NUMBER = bytes.fromhex("551d14")
OID_DELTA_INDICATOR = bytes.fromhex("551d1b")
OID_ISSUING_DP = bytes.fromhex("551d1c")
OID_AUTHORITY_KEY_ID = bytes.fromhex("551d23")
OID_FRESHEST_CRL = bytes.fromhex("551d2e")
OID_REASON = bytes.fromhex("551d15")
OID_INVALIDITY_DATE = bytes.fromhex("551d18")
NO_REASON = 0xFF
KNOWN_REASONS = frozenset({0, 1, 2, 3, 4, 5, 6, 8, 9, 10})
_NARROWING_IDP_TAGS = {0x82, 0x83, 0x84, 0x85}
"""[2] onlyContainsCACerts, [3] onlySomeReasons, [4] indirectCRL, [5] attribute certs."""


@dataclass(frozen=True)
class CrlExtensions:
    number: int
    delta_base: int | None


def _whole_sequence(data: bytes, problem: str) -> tuple[int, int]:
    """Where the content of ``data`` starts and ends; ``data`` must be exactly one SEQUENCE,
    else ``DerError(problem)``."""
    tag, start, end = read_header(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise DerError(problem)
    return start, end


def _extensions(data: bytes) -> Iterator[tuple[bytes, bool, bytes]]:
    """(OID content, critical, extnValue content) of each Extension in a SEQUENCE OF."""
    position, end = _whole_sequence(data, "extensions are not one SEQUENCE")
    while position < end:
        tag, field, stop = read_header(data, position, end)
        if tag != 0x30:
            raise DerError("extension is not a SEQUENCE")
        tag, oid_start, oid_end = read_header(data, field, stop)
        if tag != 0x06:
            raise DerError("extension without OID")
        critical, position_value = False, oid_end
        tag, value_start, value_end = read_header(data, position_value, stop)
        if tag == 0x01:
            if data[value_start:value_end] != b"\xff":
                raise DerError("critical flag is not DER TRUE")
            critical = True
            tag, value_start, value_end = read_header(data, value_end, stop)
        if tag != 0x04 or value_end != stop:
            raise DerError("extnValue is not the last OCTET STRING")
        yield data[oid_start:oid_end], critical, data[value_start:value_end]
        position = stop


def _integer(value: bytes) -> int:
    tag, start, end = read_header(value, 0, len(value))
    if tag != 0x02 or end != len(value) or start == end or value[start] & 0x80:
        raise DerError("not a non-negative INTEGER")
    return int.from_bytes(value[start:end], "big")


def crl_extensions(data: bytes) -> CrlExtensions:
    """CRL number (required, §5.2.3), delta indicator; refuse unknown critical ones."""
    if not data:
        raise CrlRejected("CRL without extensions (no CRL number)")
    number, delta_base = None, None
    try:
        for oid, critical, value in _extensions(data):
            if oid == OID_CRL_NUMBER:
                number = _integer(value)
            elif oid == OID_DELTA_INDICATOR:
                delta_base = _integer(value)
            elif oid == OID_ISSUING_DP:
                _check_issuing_distribution_point(value)
            elif oid not in (OID_AUTHORITY_KEY_ID, OID_FRESHEST_CRL) and critical:
                raise CrlRejected(f"unknown critical CRL extension {oid.hex()}")
    except DerError as error:
        raise CrlRejected(f"malformed CRL extensions: {error}") from None
    if number is None:
        raise CrlRejected("CRL without a CRL number")
    return CrlExtensions(number, delta_base)


def _check_issuing_distribution_point(value: bytes) -> None:
    position, end = _whole_sequence(value, "issuingDistributionPoint is not a SEQUENCE")
    while position < end:
        tag, _, stop = read_header(value, position, end)
        if tag in _NARROWING_IDP_TAGS:
            raise CrlRejected("a partial or indirect CRL cannot prove a certificate unrevoked")
        position = stop


def entry_reason(data: bytes) -> int:
    """An entry's reasonCode (§5.3.1), or NO_REASON; refuse unknown critical extensions."""
    reason = NO_REASON
    for oid, critical, value in _extensions(data):
        if oid == OID_REASON:
            tag, start, end = read_header(value, 0, len(value))
            if tag != 0x0A or end != len(value) or end - start != 1:
                raise DerError("reasonCode is not a one-octet ENUMERATED")
            reason = value[start]
            if reason not in KNOWN_REASONS:
                raise DerError("unknown reason code")
        elif critical and oid != OID_INVALIDITY_DATE:
            # certificateIssuer (indirect CRLs) and anything else we do not understand
            raise DerError(f"unknown critical entry extension {oid.hex()}")
    return reason


def parse_time(value: bytes) -> dt.datetime:
    """A tag byte then UTCTime ``YYMMDDHHMMSSZ`` or GeneralizedTime ``YYYYMMDDHHMMSSZ``."""
    tag, text = value[:1], value[1:]
    try:
        if tag == b"\x17" and len(text) == 13 and text.endswith(b"Z"):
            moment = dt.datetime.strptime(text.decode("ascii"), "%y%m%d%H%M%SZ")
        elif tag == b"\x18" and len(text) == 15 and text.endswith(b"Z"):
            moment = dt.datetime.strptime(text.decode("ascii"), "%Y%m%d%H%M%SZ")
        else:
            raise ValueError("not a DER time")
    except (ValueError, UnicodeDecodeError):
        raise CrlRejected("malformed CRL time") from None
    return moment.replace(tzinfo=dt.UTC)


def entry_time(value: int) -> dt.datetime | None:
    """The index's YYYYMMDDHHMMSS back to a datetime (None if it was not a real date)."""
    date, time = divmod(value, 1_000_000)
    year, month_day = divmod(date, 10_000)
    try:
        return dt.datetime(year, month_day // 100, month_day % 100, time // 10_000,
                           time // 100 % 100, time % 100, tzinfo=dt.UTC)  # fmt: skip
    except ValueError:
        return None
