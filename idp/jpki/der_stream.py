"""A moving window over a DER stream that hashes a byte range as it passes.

The CRL reader (crl_stream.py) walks a file far larger than memory; this window keeps only the
bytes not yet consumed plus one chunk, and feeds the TBSCertList range to SHA-256 as chunks
arrive, so the signature can be verified at the end without a second pass.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from idp.jpki.der import DerError

CHUNK = 1 << 20
"""Bytes read from the stream at a time."""


class DerWindow:
    """``data`` holds stream bytes ``[base, end)``; everything before ``base`` is gone."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = stream.read(CHUNK)
        self.base = 0
        self.end = len(self.data)
        self.hash = hashlib.sha256()
        self.tbs = (0, 0)

    def start_hash(self, start: int, end: int) -> None:
        """Hash stream bytes ``[start, end)``, those already read and those to come."""
        self.tbs = (start, end)
        self._hash(self.data, self.base)

    def _hash(self, chunk: bytes, offset: int) -> None:
        lo = max(self.tbs[0], offset) - offset
        hi = min(self.tbs[1], offset + len(chunk)) - offset
        if hi > lo:
            self.hash.update(memoryview(chunk)[lo:hi])

    def ensure(self, position: int, count: int) -> int:
        """Make ``count`` bytes from ``position`` available; return their index in ``data``."""
        if position < self.base:
            raise DerError("went backwards")
        if position + count > self.end:
            kept = self.data[position - self.base :]
            more = self.stream.read(max(CHUNK, count))
            self._hash(more, self.end)
            self.data, self.base, self.end = kept + more, position, self.end + len(more)
        if position + count > self.end:
            raise DerError("truncated")
        return position - self.base

    def tlv(self, position: int, limit: int, tag: int | None = None) -> tuple[int, int, int]:
        """(tag, content start, content end), absolute, of the TLV at ``position``."""
        index = self.ensure(position, min(6, limit - position))
        found, start, end = peek(self.data, index, min(len(self.data), index + limit - position))
        start, end = position + start - index, position + end - index
        if end > limit or (tag is not None and found != tag):
            raise DerError(f"expected tag {tag}, found {found}")
        return found, start, end

    def take(self, position: int, end: int) -> bytes:
        index = self.ensure(position, end - position)
        return self.data[index : index + end - position]

    def at_eof(self, position: int) -> bool:
        """Nothing after ``position``: neither in the window nor left in the stream."""
        return position == self.end and not self.stream.read(1)


def peek(data: bytes, index: int, limit: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``index``; the content may lie beyond."""
    if index + 2 > limit:
        raise DerError("truncated")
    tag, first = data[index], data[index + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tag")
    if first < 0x80:
        return tag, index + 2, index + 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or index + 2 + count > limit:
        raise DerError("bad length")
    length = int.from_bytes(data[index + 2 : index + 2 + count], "big")
    if length < 0x80 or data[index + 2] == 0:
        raise DerError("non-minimal length")
    return tag, index + 2 + count, index + 2 + count + length
