"""The few DER primitives the JPKI core reads by hand, with strict length rules (X.690 §10).

cryptography parses certificates, OCSP responses and whole CRLs, but it neither exposes
otherName contents as text nor streams a CRL too large to hold in memory; those two places use
these helpers. Every error is ``DerError`` so callers can turn it into their own reason.
"""

from __future__ import annotations


class DerError(ValueError):
    """Bytes that are not the DER we expected."""


TAG_UTF8STRING = 0x0C
MAX_LENGTH_OCTETS = 4


def read_header(data: bytes | memoryview, offset: int, end: int) -> tuple[int, int, int]:
    """Return ``(tag, content_start, content_end)`` of the TLV at ``offset`` (single-byte tags)."""
    if offset + 2 > end:
        raise DerError("truncated")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not used here")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > MAX_LENGTH_OCTETS:
            raise DerError("indefinite or oversized length")
        if start + count > end:
            raise DerError("truncated length")
        length = int.from_bytes(data[start : start + count], "big")
        if length < 0x80 or data[start] == 0:
            raise DerError("non-minimal length")
        start += count
    if start + length > end:
        raise DerError("truncated content")
    return tag, start, start + length


def read_utf8_string(data: bytes) -> str:
    """Exactly one UTF8String TLV and nothing after it."""
    tag, start, end = read_header(data, 0, len(data))
    if tag != TAG_UTF8STRING or end != len(data):
        raise DerError("not exactly one UTF8String")
    try:
        return bytes(data[start:end]).decode("utf-8")
    except UnicodeDecodeError:
        raise DerError("invalid UTF-8") from None


def serial_key(serial: int) -> bytes:
    return serial.to_bytes((serial.bit_length() + 7) // 8, "big")
