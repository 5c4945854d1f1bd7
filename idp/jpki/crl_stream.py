"""A streaming DER reader for CRLs too large to hold in memory (RFC 5280 §5.1, X.690).

J-LIS lists millions of revoked certificates. cryptography needs the whole CRL in
memory and makes a Python object per entry, so the entries are read here, chunk by chunk, and
handed to a sink; the TBSCertList is hashed as it streams so the signature can be checked with
``Prehashed`` once the end is reached. Nothing read is trusted until that check passes: callers
build into a temporary index and discard it on any error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from idp.jpki.der import DerError
from idp.jpki.der_stream import CHUNK, DerWindow

MAX_ENTRY = 4096
"""An entry larger than this is refused; real ones are under 100 bytes."""
NO_REASON = 0xFF
"""Stored reason for an entry without reasonCode (RFC 5280 §5.3.1: unspecified)."""
_REASON_PREFIX = bytes.fromhex("300c300a0603551d1504030a01")
FAST_REASONS = {_REASON_PREFIX + bytes([code]): code for code in range(11) if code != 7}
"""crlEntryExtensions holding exactly one non-critical reasonCode, as almost every entry does."""

Sink = Callable[[bytes, int, int], None]
"""``sink(serial_key, revoked_at as YYYYMMDDHHMMSS, reason code or NO_REASON)``."""
EntryExtensions = Callable[[bytes], int]
"""Parses an entry's extensions (the uncommon shapes) into a reason code; raises DerError."""


@dataclass
class CrlEnvelope:
    """Everything but the entries; raw DER pieces, interpreted by the caller."""

    version: bytes = b""
    signature_algorithm: bytes = b""
    issuer: bytes = b""
    this_update: bytes = b""
    next_update: bytes = b""
    extensions: bytes = b""
    outer_algorithm: bytes = b""
    signature: bytes = b""
    tbs_sha256: bytes = b""
    entries: int = 0
    revoked_length: int = 0


def read_crl(
    stream: BinaryIO, sinks: Callable[[int], Sink], entry_extensions: EntryExtensions
) -> CrlEnvelope:
    """Read a whole DER CertificateList, feeding each entry to a sink; DerError on bad DER.

    ``sinks(revoked_length)`` makes the sink once the size of revokedCertificates is known (the
    index sizes its table from it); it is called with 0 when the CRL lists nothing.
    """
    window, envelope = DerWindow(stream), CrlEnvelope()
    _, outer_start, outer_end = window.tlv(0, 1 << 40, 0x30)
    _, tbs_start, tbs_end = window.tlv(outer_start, outer_end, 0x30)
    window.start_hash(outer_start, tbs_end)
    position = _read_preamble(window, envelope, tbs_start, tbs_end)
    if position < tbs_end and window.tlv(position, tbs_end)[0] == 0x30:
        _, start, end = window.tlv(position, tbs_end, 0x30)
        envelope.revoked_length = end - start
        sink = sinks(end - start)
        envelope.entries = _read_entries(window, start, end, sink, entry_extensions)
        position = end
    else:
        sinks(0)
    if position < tbs_end:
        _, start, end = window.tlv(position, tbs_end, 0xA0)
        envelope.extensions = window.take(start, end)
        position = end
    if position != tbs_end:
        raise DerError("trailing data in TBSCertList")
    envelope.tbs_sha256 = window.hash.digest()
    _, start, end = window.tlv(tbs_end, outer_end, 0x30)
    envelope.outer_algorithm = window.take(tbs_end, end)
    _, start, signature_end = window.tlv(end, outer_end, 0x03)
    envelope.signature = window.take(start, signature_end)
    if signature_end != outer_end or not window.at_eof(signature_end):
        raise DerError("trailing data after the CRL")
    return envelope


def _read_preamble(window: DerWindow, envelope: CrlEnvelope, position: int, end: int) -> int:
    """version, signature, issuer, thisUpdate, nextUpdate; returns where entries may start."""
    tag, start, stop = window.tlv(position, end)
    if tag == 0x02:
        envelope.version = window.take(start, stop)
        tag, start, stop = window.tlv(stop, end)
    if tag != 0x30:
        raise DerError("no signature algorithm")
    envelope.signature_algorithm = window.take(_header_start(start, stop), stop)
    _, start, stop = window.tlv(stop, end, 0x30)
    envelope.issuer = window.take(_header_start(start, stop), stop)
    tag, start, stop = window.tlv(stop, end)
    if tag not in (0x17, 0x18):
        raise DerError("no thisUpdate")
    envelope.this_update = bytes([tag]) + window.take(start, stop)
    if stop < end:
        tag, start, next_stop = window.tlv(stop, end)
        if tag in (0x17, 0x18):
            envelope.next_update = bytes([tag]) + window.take(start, next_stop)
            stop = next_stop
    return stop


def _header_start(start: int, stop: int) -> int:
    """Where the TLV whose content is [start, stop) begins (to keep a whole Name's DER)."""
    length = stop - start
    return start - 2 - (0 if length < 0x80 else (length.bit_length() + 7) // 8)


def _read_entries(
    window: DerWindow, start: int, end: int, sink: Sink, entry_extensions: EntryExtensions
) -> int:
    """The hot loop: about a microsecond per entry, no object per entry but the serial bytes.

    The window holds one chunk at a time; an entry is read only where it lies wholly inside it,
    and the rest of the chunk is read again with the next one."""
    count, position = 0, start
    while position < end:
        index = window.ensure(position, min(end - position, CHUNK))
        data = window.data
        stop = index + min(end - position, len(data) - index)
        # Entries starting before ``limit`` lie wholly in the window (or are refused).
        limit = stop if position + (stop - index) >= end else stop - MAX_ENTRY - 8
        p = index
        while p < limit:
            q, e = _entry_bounds(data, p, stop)
            sink(*_entry(data, q, e, entry_extensions))
            count += 1
            p = e
        position += p - index
    if position != end:
        raise DerError("entries overrun their SEQUENCE")
    return count


def _entry_bounds(data: bytes | bytearray, p: int, stop: int) -> tuple[int, int]:
    """Where the entry at ``p`` has its content and where it ends. Lengths are read by hand, not
    by ``der.read_header``, because this runs once per entry of millions; an entry is at most
    ``MAX_ENTRY`` bytes, so one or two length bytes are all a good one needs."""
    if data[p] != 0x30:
        raise DerError("entry is not a SEQUENCE")
    length = data[p + 1]
    if length < 0x80:
        q = p + 2
    elif length == 0x81:
        length, q = data[p + 2], p + 3
    elif length == 0x82:
        length, q = (data[p + 2] << 8) | data[p + 3], p + 4
    else:
        raise DerError("entry too large")
    e = q + length
    if e > stop or length > MAX_ENTRY or data[q] != 0x02:
        raise DerError("bad entry")
    return q, e


def _entry(
    data: bytes | bytearray, q: int, e: int, entry_extensions: EntryExtensions
) -> tuple[bytes, int, int]:
    """The entry whose content is [q, e) as (serial key, revoked at, reason code).

    The serial becomes its index key: positive, leading zeros dropped, at most 21 bytes (RFC 5280
    §4.1.2.2's 20 octets plus a sign byte). The date becomes the number YYYYMMDDHHMMSS, UTCTime's
    two-digit year placed as §4.1.2.5.1 says. The common extensions (one reasonCode) are looked
    up whole; ``entry_extensions`` parses the uncommon shapes."""
    s = q + 2
    t = s + data[q + 1]
    key = data[s:t]
    if not key or data[q + 1] > 21 or key[0] & 0x80:
        raise DerError("bad serial")
    if key[0] == 0:
        key = key.lstrip(b"\x00")
    tag, size = data[t], data[t + 1]
    if tag == 0x17 and size == 13 and data[t + 14] == 0x5A:
        when = int(data[t + 2 : t + 14])
        when += 19000000000000 if when >= 500000000000 else 20000000000000
    elif tag == 0x18 and size == 15 and data[t + 16] == 0x5A:
        when = int(data[t + 2 : t + 16])
    else:
        raise DerError("bad revocation date")
    x = t + 2 + size
    if x > e:
        raise DerError("entry fields overrun the entry")
    if x == e:
        return key, when, NO_REASON
    reason = FAST_REASONS.get(data[x:e])
    return key, when, entry_extensions(data[x:e]) if reason is None else reason
