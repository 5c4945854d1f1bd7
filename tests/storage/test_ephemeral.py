"""Contract suite of the ephemeral store: MemoryStore and RedisStore must behave the same."""

from __future__ import annotations

import secrets
import sys
import threading
import time

import pytest
import redis

from idp.storage.ephemeral import Append, Drop, MemoryStore, Put, RedisStore


class FakeClock:
    """A clock the test moves; only MemoryStore accepts one."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def store(request, redis_url):
    """A store plus a function that lets ``seconds`` of store time pass."""
    if request.param == "memory":
        clock = FakeClock()

        def advance(seconds):
            clock.now += seconds

        yield MemoryStore(clock), advance
        return
    prefix = f"test:{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(redis_url)
    yield RedisStore(client, prefix), lambda seconds: time.sleep(seconds)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def test_set_then_get_returns_the_value(store):
    s, _ = store
    s.set("k", b"v", 5)
    assert s.get("k") == b"v"


def test_missing_key_reads_as_none(store):
    s, _ = store
    assert s.get("absent") is None
    assert s.take("absent") is None


def test_value_expires_after_its_ttl(store):
    s, advance = store
    s.set("k", b"v", 0.2)
    advance(0.3)
    assert s.get("k") is None


def test_take_returns_value_once(store):
    s, _ = store
    s.set("code", b"x", 5)
    assert s.take("code") == b"x"
    assert s.take("code") is None
    assert s.get("code") is None


def test_add_refuses_existing_key_until_it_expires(store):
    s, advance = store
    assert s.add("jti", b"1", 0.2) is True
    assert s.add("jti", b"2", 0.2) is False
    assert s.get("jti") == b"1"
    advance(0.3)
    assert s.add("jti", b"3", 0.2) is True


def test_delete_forgets_and_tolerates_absent_keys(store):
    s, _ = store
    s.set("k", b"v", 5)
    s.delete("k")
    s.delete("k")
    assert s.get("k") is None


def test_incr_counts_within_its_window(store):
    s, advance = store
    assert [s.incr("n", 0.2) for _ in range(3)] == [1, 2, 3]
    advance(0.3)
    assert s.incr("n", 0.2) == 1


def test_counters_read_counts_and_time_left_without_counting(store):
    s, advance = store
    assert s.counters("n") == [(0, 0.0)]
    s.incr("n", 0.4)
    s.incr("n", 0.4)
    s.incr("m", 5)
    [(count, left), (other, other_left), absent] = s.counters("n", "m", "absent")
    assert (count, other, absent) == (2, 1, (0, 0.0))
    assert 0.2 < left <= 0.4
    assert 4 < other_left <= 5
    assert s.counters("n")[0][0] == 2  # reading did not count
    advance(0.1)
    assert s.counters("n")[0][1] <= left - 0.1 + 0.01
    advance(0.4)
    assert s.counters("n", "m")[0] == (0, 0.0)
    assert s.counters() == []


@pytest.mark.parametrize("ttl", [0, -1])
def test_non_positive_ttl_is_refused(store, ttl):
    s, _ = store
    with pytest.raises(ValueError, match="TTL"):
        s.set("k", b"v", ttl)


def test_take_is_single_use_under_concurrency(store):
    s, _ = store
    s.set("once", b"x", 5)
    winners = []

    def race():
        if s.take("once") is not None:
            winners.append(1)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == [1]


def test_redis_keys_carry_the_prefix(redis_url):
    client = redis.Redis.from_url(redis_url)
    prefix = f"test:{secrets.token_hex(6)}:"
    RedisStore(client, prefix).set("k", b"v", 5)
    assert client.get(prefix + "k") == b"v"
    client.delete(prefix + "k")


def test_append_keeps_order_the_last_entries_and_one_expiry(store):
    s, advance = store
    assert s.items("list") == []
    for i in range(5):
        s.append("list", f"e{i}".encode(), 0.4, keep=3)
    assert s.items("list") == [b"e2", b"e3", b"e4"]
    advance(0.25)
    s.append("list", b"e5", 0.4, keep=3)  # the whole list lives on from the last append
    advance(0.25)
    assert s.items("list") == [b"e3", b"e4", b"e5"]
    advance(0.5)
    assert s.items("list") == []


def test_appends_at_the_same_moment_are_all_kept(store):
    s, _ = store
    threads = [
        threading.Thread(target=s.append, args=("list", f"{i}".encode(), 5, 1000))
        for i in range(32)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(v) for v in s.items("list")) == list(range(32))


def test_delete_forgets_a_list(store):
    s, _ = store
    s.append("list", b"x", 5, keep=10)
    s.delete("list")
    assert s.items("list") == []


def test_write_makes_every_put_and_append_with_its_own_ttl(store):
    s, advance = store
    s.set("old", b"replaced", 5)
    s.append("list", b"e0", 5, keep=2)
    s.write(
        Put("short", b"a", 0.2),
        Put("old", b"b", 5),
        Append("list", b"e1", 5, 2),
        Append("list", b"e2", 5, 2),
    )
    assert (s.get("short"), s.get("old"), s.items("list")) == (b"a", b"b", [b"e1", b"e2"])
    advance(0.3)
    assert (s.get("short"), s.get("old"), s.items("list")) == (None, b"b", [b"e1", b"e2"])


def test_write_of_nothing_changes_nothing(store):
    s, _ = store
    s.write()
    assert s.get("k") is None


@pytest.mark.parametrize("ttl", [0, -1])
def test_write_with_a_bad_ttl_writes_nothing(store, ttl):
    s, _ = store
    s.set("k", b"before", 5)
    with pytest.raises(ValueError, match="TTL"):
        s.write(Put("k", b"after", 5), Put("other", b"x", ttl))
    with pytest.raises(ValueError, match="TTL"):
        s.write(Append("list", b"x", ttl, 10))
    assert (s.get("k"), s.get("other"), s.items("list")) == (b"before", None, [])


def test_writes_are_never_seen_apart(store):
    """A reader sees both values of one write or neither, whatever the timing."""
    s, _ = store
    torn: list[tuple] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            a, b = s.get("a"), s.get("b")  # b is read last: never older than a, if atomic
            if a is not None and (b is None or int(b) < int(a)):
                torn.append((a, b))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so a torn write would be seen
    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1000):
            value = str(i).encode()
            s.write(Put("a", value, 5), Put("b", value, 5))
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert torn == []


def test_a_held_value_is_out_of_reach_until_released(store):
    s, _ = store
    s.set("code", b"x", 5)
    assert s.hold("code") == b"x"
    assert (s.get("code"), s.take("code"), s.hold("code")) == (None, None, None)
    s.release("code")
    assert s.hold("code") == b"x"
    s.drop("code")
    s.release("code")
    assert s.get("code") is None


def test_a_held_value_keeps_its_expiry(store):
    s, advance = store
    s.set("code", b"x", 0.4)
    assert s.hold("code") == b"x"
    advance(0.2)
    s.release("code")
    assert s.get("code") == b"x"
    advance(0.3)
    assert s.get("code") is None
    s.release("code")
    assert s.get("code") is None


def test_holding_an_absent_key_is_none_and_release_of_nothing_is_harmless(store):
    s, _ = store
    assert s.hold("absent") is None
    s.release("absent")
    s.drop("absent")
    assert s.get("absent") is None


def test_release_never_replaces_a_value_written_meanwhile(store):
    s, _ = store
    s.set("k", b"old", 5)
    s.hold("k")
    s.set("k", b"new", 5)
    s.release("k")
    assert s.get("k") == b"new"


def test_a_drop_in_write_goes_with_the_other_writes(store):
    s, _ = store
    s.set("code", b"x", 5)
    s.hold("code")
    s.write(Put("tombstone", b"t", 5), Drop("code"))
    s.release("code")
    assert (s.get("code"), s.get("tombstone")) == (None, b"t")


def test_hold_is_single_use_under_concurrency(store):
    s, _ = store
    s.set("once", b"x", 5)
    winners = []

    def race():
        if s.hold("once") is not None:
            winners.append(1)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert winners == [1]
