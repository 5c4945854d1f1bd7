"""A CRL as an open-addressing hash table in a file, memory-mapped by every IdP process.

Lookups cost one CRC, one or two slot reads, and do not slow as the list grows;
the file is written once per CRL, then atomically renamed into place, so every process on the
machine reads the same pages from the page cache without parsing the CRL itself.

File layout: ``MAGIC``, a 4-byte metadata length, JSON metadata, zero padding to ``HEADER``,
then ``capacity`` slots of ``SLOT`` bytes: serial (left-padded to 20 bytes), a reason byte
(0 empty, code + 1, or ``0xFF`` for none), and the revocation date as the integer
YYYYMMDDHHMMSS (8 bytes, big-endian).
"""

from __future__ import annotations

import datetime as dt
import json
import mmap
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAGIC = b"JPKICRL1"
HEADER = 4096
SLOT = 32
KEY = 20
LOAD = 0.65
"""Target load factor; linear probing stays short well below 0.85."""
MAX_LOAD = 0.85
ESTIMATED_ENTRY_BYTES = 45
"""Bytes per DER entry used to size the table before the count is known (grows if wrong)."""
_SLOT = struct.Struct(">20sBQ")
_EMPTY = b"\x00" * SLOT


class IndexError_(ValueError):
    """An index file that is not ours or is damaged."""


def slot_of(key: bytes, capacity: int) -> int:
    """Spread CRC-32 over the table with a multiplicative mix and Lemire's reduction.

    ``IndexBuilder.sink`` inlines the same arithmetic for speed; keep the two identical."""
    return (((zlib.crc32(key) * 0x9E3779B1) & 0xFFFFFFFF) * capacity) >> 32


def capacity_for(entries: int) -> int:
    return max(64, int(entries / LOAD) + 1)


class IndexBuilder:
    """Fills a new index file; :meth:`finish` publishes it, :meth:`abort` throws it away."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.count = 0
        self._open(capacity)

    def _open(self, capacity: int) -> None:
        self.capacity = capacity
        self.file = self.tmp.open("w+b")
        self.file.truncate(HEADER + capacity * SLOT)
        self.map = mmap.mmap(self.file.fileno(), HEADER + capacity * SLOT)
        self.grow_at = int(capacity * MAX_LOAD)

    def add(self, key: bytes, when: int, reason: int) -> None:
        """Insert or replace one serial (``reason`` 0-10 or 0xFF)."""
        self.sink()(key, when, reason)

    def sink(self) -> Callable[[bytes, int, int], None]:
        """A fast ``add`` for the CRL reader: the hot loop's state lives in closure locals."""
        table, capacity, grow_at = self.map, self.capacity, self.grow_at
        crc, pack, header, slot = zlib.crc32, _SLOT.pack_into, HEADER, SLOT

        def add(key: bytes, when: int, reason: int) -> None:
            nonlocal table, capacity, grow_at
            if len(key) > KEY:
                raise IndexError_("serial longer than 20 octets")
            padded = key.rjust(KEY, b"\x00")
            index = (((crc(padded) * 0x9E3779B1) & 0xFFFFFFFF) * capacity) >> 32
            offset = header + index * slot
            new = True
            while table[offset + KEY]:
                if table[offset : offset + KEY] == padded:
                    new = False
                    break
                index += 1
                offset += slot
                if index == capacity:
                    index, offset = 0, header
            pack(table, offset, padded, reason + 1 if reason < 0xFF else 0xFF, when)
            if new:
                self.count += 1
                if self.count >= grow_at:
                    self._grow()
                    table, capacity, grow_at = self.map, self.capacity, self.grow_at

        return add

    def _grow(self) -> None:
        """The size estimate was low: rehash into a table twice as large."""
        old_map, old_file, old_capacity = self.map, self.file, self.capacity
        self.tmp.unlink()
        self.count = 0
        self._open(old_capacity * 2)
        add = self.sink()
        for index in range(old_capacity):
            offset = HEADER + index * SLOT
            padded, reason, when = _SLOT.unpack_from(old_map, offset)
            if reason:
                add(padded, when, reason - 1 if reason != 0xFF else 0xFF)
        old_map.close()
        old_file.close()

    def finish(self, metadata: dict[str, Any]) -> Path:
        """Write the header, flush to disk, and atomically replace ``path``."""
        body = json.dumps({**metadata, "capacity": self.capacity, "count": self.count}).encode()
        if len(body) + 12 > HEADER:
            raise IndexError_("metadata too large")
        self.map[: 12 + len(body)] = MAGIC + len(body).to_bytes(4, "big") + body
        self.map.flush()
        self.map.close()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        self.map.close()
        self.file.close()
        self.tmp.unlink(missing_ok=True)


class CrlIndex:
    """A read-only view of one index file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self.path.open("rb") as file:
            stat = os.fstat(file.fileno())
            self.identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stat.st_size < HEADER:
                raise IndexError_("index file too short")
            self.map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        if self.map[:8] != MAGIC:
            raise IndexError_("not a CRL index")
        length = int.from_bytes(self.map[8:12], "big")
        self.metadata: dict[str, Any] = json.loads(self.map[12 : 12 + length])
        self.capacity = int(self.metadata["capacity"])
        self.number: int = self.metadata["number"]
        self.delta_base: int | None = self.metadata.get("delta_base")
        self.this_update = dt.datetime.fromisoformat(self.metadata["this_update"])
        self.next_update = dt.datetime.fromisoformat(self.metadata["next_update"])
        if stat.st_size != HEADER + self.capacity * SLOT:
            raise IndexError_("index file size does not match its capacity")

    def lookup(self, key: bytes) -> tuple[int, int] | None:
        """``(reason code or 0xFF, YYYYMMDDHHMMSS)`` if listed, else None."""
        padded = key.rjust(KEY, b"\x00")
        table, capacity = self.map, self.capacity
        index = slot_of(padded, capacity)
        while True:
            offset = HEADER + index * SLOT
            stored = table[offset + KEY]
            if stored == 0:
                return None
            if table[offset : offset + KEY] == padded:
                _, reason, when = _SLOT.unpack_from(table, offset)
                return (reason - 1 if reason != 0xFF else 0xFF), when
            index = index + 1 if index + 1 < capacity else 0

    def is_current(self) -> bool:
        """False once another process has renamed a newer index over ours."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size) == self.identity

    def close(self) -> None:
        self.map.close()
