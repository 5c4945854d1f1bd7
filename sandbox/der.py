"""Just enough DER (X.690) to write a CRL by hand, for :mod:`sandbox.large_crl`.

cryptography builds a CRL from Python objects held in memory; a J-LIS-sized list of millions of
entries has to be written as bytes instead. These helpers encode the few types a TBSCertList
needs, and know the length of an encoding before it is written.
"""

from __future__ import annotations

import datetime as dt

SEQUENCE = 0x30
INTEGER = 0x02
BOOLEAN = 0x01
BIT_STRING = 0x03
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
ENUMERATED = 0x0A
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
CONTEXT_0 = 0xA0  # [0] EXPLICIT, constructed


def length(n: int) -> bytes:
    """The definite length octets for ``n`` content octets (X.690 §8.1.3)."""
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def header(tag: int, content_length: int) -> bytes:
    return bytes([tag]) + length(content_length)


def tlv(tag: int, content: bytes) -> bytes:
    return header(tag, len(content)) + content


def encoded_size(content_length: int) -> int:
    """Size of a whole TLV (one-octet tag) whose content is ``content_length`` octets."""
    return 1 + len(length(content_length)) + content_length


def sequence(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def integer_content(value: int) -> bytes:
    """Two's-complement, minimal octets (X.690 §8.3); serials are never negative here."""
    if value < 0:
        raise ValueError("negative integers are not needed here")
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def integer(value: int) -> bytes:
    return tlv(INTEGER, integer_content(value))


def oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


def time(moment: dt.datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §5.1.2.4), seconds, Zulu."""
    moment = moment.astimezone(dt.UTC)
    if 1950 <= moment.year <= 2049:
        return tlv(UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def bit_string(data: bytes) -> bytes:
    """A BIT STRING of whole octets (no unused bits), as a signature value is."""
    return tlv(BIT_STRING, b"\x00" + data)


def extension(oid_dotted: str, value_der: bytes, *, critical: bool) -> bytes:
    """RFC 5280 §4.1 Extension; ``critical`` FALSE is the DEFAULT and so is left out."""
    flag = tlv(BOOLEAN, b"\xff") if critical else b""
    return sequence(oid(oid_dotted), flag, tlv(OCTET_STRING, value_der))


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``offset``; definite lengths only."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        return tag, offset + 2, offset + 2 + first
    count = first & 0x7F
    start = offset + 2 + count
    return tag, start, start + int.from_bytes(data[offset + 2 : start], "big")
