"""The memory-mapped CRL index: exact lookups, growth, replacement, damaged files."""

from __future__ import annotations

import random

import pytest

from idp.jpki.crl_index import HEADER, CrlIndex, IndexBuilder, IndexError_

META = {"number": 1, "this_update": "2026-01-01T00:00:00+00:00",
        "next_update": "2026-01-02T00:00:00+00:00"}  # fmt: skip


def _keys(count: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return list(
        {rng.randbytes(rng.randint(1, 20)).lstrip(b"\x00") or b"\x01" for _ in range(count)}
    )


def test_every_added_serial_is_found_and_others_are_not(tmp_path):
    keys = _keys(5000)
    builder = IndexBuilder(tmp_path / "x.idx", 8192)
    add = builder.sink()
    for n, key in enumerate(keys):
        add(key, 20260101000000 + n, n % 11 if n % 11 != 7 else 0xFF)
    index = CrlIndex(builder.finish(META))
    for n, key in enumerate(keys):
        assert index.lookup(key) == (n % 11 if n % 11 != 7 else 0xFF, 20260101000000 + n)
    assert all(index.lookup(key) is None for key in _keys(2000, seed=1) if key not in set(keys))


def test_table_sized_too_small_grows_and_keeps_every_entry(tmp_path):
    keys = _keys(3000)
    builder = IndexBuilder(tmp_path / "x.idx", 64)
    add = builder.sink()
    for key in keys:
        add(key, 20260101000000, 1)
    index = CrlIndex(builder.finish(META))
    assert index.capacity > len(keys)
    assert index.metadata["count"] == len(keys)
    assert all(index.lookup(key) == (1, 20260101000000) for key in keys)


def test_a_serial_listed_twice_keeps_the_last_entry(tmp_path):
    builder = IndexBuilder(tmp_path / "x.idx", 64)
    builder.add(b"\x05", 20260101000000, 6)
    builder.add(b"\x05", 20260102000000, 1)
    index = CrlIndex(builder.finish(META))
    assert (index.lookup(b"\x05"), index.metadata["count"]) == ((1, 20260102000000), 1)


def test_serial_longer_than_20_octets_is_refused(tmp_path):
    builder = IndexBuilder(tmp_path / "x.idx", 64)
    with pytest.raises(IndexError_):
        builder.add(b"\x01" * 21, 0, 1)
    builder.abort()
    assert list(tmp_path.iterdir()) == []


def test_damaged_or_foreign_file_is_refused(tmp_path):
    (tmp_path / "short.idx").write_bytes(b"JPKICRL1")
    (tmp_path / "other.idx").write_bytes(b"\x00" * (HEADER + 64))
    for name in ("short.idx", "other.idx"):
        with pytest.raises(IndexError_):
            CrlIndex(tmp_path / name)


def test_readers_notice_an_atomic_replacement(tmp_path):
    first = CrlIndex(IndexBuilder(tmp_path / "x.idx", 64).finish(META))
    assert first.is_current()
    IndexBuilder(tmp_path / "x.idx", 64).finish({**META, "number": 2})
    assert not first.is_current()
    assert CrlIndex(tmp_path / "x.idx").number == 2
