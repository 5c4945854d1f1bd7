"""The ephemeral store: short-lived state shared by every IdP process (docs/architecture.md §4).

Challenges, login transactions, codes, PAR requests, replay caches, the OCSP cache and rate
limits live here, each with a TTL. ``RedisStore`` serves production and any deployment of several
processes; ``MemoryStore`` serves the single-process default. One contract suite
(``tests/storage/test_ephemeral.py``) runs against both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

import redis

from ..config import TimeoutsConfig
from ..services import Service


class Put(NamedTuple):
    """A ``set`` inside ``EphemeralStore.write``."""

    key: str
    value: bytes
    ttl: float


class Append(NamedTuple):
    """An ``append`` inside ``EphemeralStore.write``."""

    key: str
    value: bytes
    ttl: float
    keep: int


class Drop(NamedTuple):
    """A ``drop`` inside ``EphemeralStore.write``."""

    key: str


HELD = "held:"
"""Where a held value waits (``EphemeralStore.hold``): out of reach of ``get``/``take``/``hold``."""


class EphemeralStore(Protocol):
    """Bytes under string keys, each with a time to live in seconds."""

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value``, replacing what was there."""

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Store ``value`` only if ``key`` is absent; True if stored (replay caches, locks)."""

    def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

    def take(self, key: str) -> bytes | None:
        """Get and delete in one atomic step: a single-use value is used at most once."""

    def delete(self, key: str) -> None:
        """Forget ``key``; absent keys are not an error."""

    def hold(self, key: str) -> bytes | None:
        """Take a single-use value for one attempt: moved aside in one atomic step, its TTL
        running on, so no other request can take or hold it meanwhile (exactly one of two racing
        attempts gets it). ``release`` puts it back when the attempt failed before anything
        durable happened, so the same value can be presented again; ``drop`` ends it."""

    def release(self, key: str) -> None:
        """Put the held value back under ``key`` with what is left of its TTL (none: nothing)."""

    def drop(self, key: str) -> None:
        """Forget the held value: the attempt it was held for is done."""

    def incr(self, key: str, ttl: float) -> int:
        """Add one and return the count; the TTL starts with the first increment (rate limits)."""

    def counters(self, *keys: str) -> list[tuple[int, float]]:
        """Each counter made by ``incr`` and the seconds it has left, without counting, in one
        round trip: (0, 0.0) when absent or expired (rate limits' tests and ``Retry-After``)."""

    def append(self, key: str, value: bytes, ttl: float, keep: int) -> None:
        """Add ``value`` at the end of the list under ``key``, keep its last ``keep`` entries
        and let the whole list expire ``ttl`` seconds from now: one atomic step, so appends at
        the same moment never lose one another (an index; no read-modify-write)."""

    def items(self, key: str) -> list[bytes]:
        """The list under ``key``, oldest first; empty when absent or expired."""

    def write(self, *writes: Put | Append | Drop) -> None:
        """Make every write in one atomic step and one round trip (Redis: MULTI … EXEC in one
        pipeline), so values written together are never seen apart, and a login pays one
        network round trip instead of one per value. A bad TTL anywhere writes nothing."""


def _ms(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError("every ephemeral value needs a positive TTL")
    return max(1, int(ttl * 1000))


class RedisStore:
    """The store on Redis; keys are prefixed so several deployments can share one server."""

    def __init__(self, client: redis.Redis, prefix: str = "idp:") -> None:
        self._redis = client
        self._prefix = prefix
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "idp:", timeouts: TimeoutsConfig | None = None):
        """The store at ``url``, with the connect and reply timeouts of ``timeouts``: an
        unreachable Redis fails a request in seconds (503), it never hangs a worker."""
        timeouts = timeouts or TimeoutsConfig()
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeouts.redis_connect,
            socket_timeout=timeouts.redis_command,
        )
        return cls(client, prefix)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._redis.set(self._prefix + key, value, px=_ms(ttl))

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(self._redis.set(self._prefix + key, value, px=_ms(ttl), nx=True))

    def get(self, key: str) -> bytes | None:
        return self._redis.get(self._prefix + key)  # type: ignore[return-value]

    def take(self, key: str) -> bytes | None:
        return self._redis.getdel(self._prefix + key)  # type: ignore[return-value]

    def delete(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def hold(self, key: str) -> bytes | None:
        names = [self._prefix + key, self._prefix + HELD + key]
        return self._hold(keys=names)  # type: ignore[return-value]

    def release(self, key: str) -> None:
        self._release(keys=[self._prefix + key, self._prefix + HELD + key])

    def drop(self, key: str) -> None:
        self._redis.delete(self._prefix + HELD + key)

    def incr(self, key: str, ttl: float) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.pexpire(self._prefix + key, _ms(ttl), nx=True)
        count, _ = pipe.execute()
        return int(count)

    def counters(self, *keys: str) -> list[tuple[int, float]]:
        pipe = self._redis.pipeline()  # MULTI … EXEC: counts and TTLs of one moment
        for key in keys:
            pipe.get(self._prefix + key)
            pipe.pttl(self._prefix + key)
        answers = pipe.execute()
        found = []
        for count, left in zip(answers[::2], answers[1::2], strict=True):
            # -2: gone between the two; -1 cannot be (incr sets a TTL)
            found.append((0, 0.0) if count is None or left < 0 else (int(count), left / 1000))
        return found

    def append(self, key: str, value: bytes, ttl: float, keep: int) -> None:
        self.write(Append(key, value, ttl, keep))

    def items(self, key: str) -> list[bytes]:
        return list(self._redis.lrange(self._prefix + key, 0, -1))  # type: ignore[arg-type]

    def write(self, *writes: Put | Append | Drop) -> None:
        expiries = [0 if isinstance(w, Drop) else _ms(w.ttl) for w in writes]  # all before any
        if not writes:
            return
        pipe = self._redis.pipeline()  # MULTI … EXEC, sent as one packet: atomic, one trip
        for w, ms in zip(writes, expiries, strict=True):
            name = self._prefix + w.key
            if isinstance(w, Drop):
                pipe.delete(self._prefix + HELD + w.key)
            elif isinstance(w, Append):
                pipe.rpush(name, w.value)
                pipe.ltrim(name, -w.keep, -1)
                pipe.pexpire(name, ms)
            else:
                pipe.set(name, w.value, px=ms)
        pipe.execute()


_HOLD = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('RENAME', KEYS[1], KEYS[2]) end
return value
"""
"""RENAME keeps the key's TTL: a held value expires when it would have."""
_RELEASE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('RENAMENX', KEYS[2], KEYS[1]) end
return 0
"""


class MemoryStore:
    """The store in this process's memory: correct only while the IdP runs as one process."""

    SWEEP_EVERY = 1024
    """Writes between sweeps of expired keys, so memory stays bounded without a thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, bytes | int | tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    def _live(self, key: str) -> bytes | int | tuple[bytes, ...] | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._items[key]
            return None
        return item[1]

    def _put(self, key: str, value: bytes | int | tuple[bytes, ...], ttl: float) -> None:
        self._items[key] = (self._clock() + _ms(ttl) / 1000, value)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            now = self._clock()
            for stale in [k for k, (expiry, _) in self._items.items() if expiry <= now]:
                del self._items[stale]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._put(key, bytes(value), ttl)

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._put(key, bytes(value), ttl)
            return True

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._live(key)
            return value if isinstance(value, bytes) else None

    def take(self, key: str) -> bytes | None:
        with self._lock:
            value = self._live(key)
            self._items.pop(key, None)
            return value if isinstance(value, bytes) else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def hold(self, key: str) -> bytes | None:
        with self._lock:
            value = self._live(key)
            if not isinstance(value, bytes):
                return None
            self._items[HELD + key] = self._items.pop(key)
            return value

    def release(self, key: str) -> None:
        with self._lock:
            if isinstance(self._live(HELD + key), bytes) and self._live(key) is None:
                self._items[key] = self._items.pop(HELD + key)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(HELD + key, None)

    def incr(self, key: str, ttl: float) -> int:
        with self._lock:
            item = self._items.get(key)
            count = self._live(key)
            if isinstance(count, int) and item is not None:
                self._items[key] = (item[0], count + 1)
                return count + 1
            self._put(key, 1, ttl)
            return 1

    def counters(self, *keys: str) -> list[tuple[int, float]]:
        with self._lock:
            found = []
            for key in keys:
                count = self._live(key)
                live = isinstance(count, int)
                found.append((count, self._items[key][0] - self._clock()) if live else (0, 0.0))
            return found

    def append(self, key: str, value: bytes, ttl: float, keep: int) -> None:
        self.write(Append(key, value, ttl, keep))

    def items(self, key: str) -> list[bytes]:
        with self._lock:
            listed = self._live(key)
            return list(listed) if isinstance(listed, tuple) else []

    def write(self, *writes: Put | Append | Drop) -> None:
        for w in writes:
            if not isinstance(w, Drop):
                _ms(w.ttl)  # validate every TTL before changing anything
        with self._lock:  # one step: no reader sees some of the writes without the others
            for w in writes:
                if isinstance(w, Drop):
                    self._items.pop(HELD + w.key, None)
                elif isinstance(w, Append):
                    listed = self._live(w.key)
                    listed = listed if isinstance(listed, tuple) else ()
                    self._put(w.key, (*listed, bytes(w.value))[-w.keep :], w.ttl)
                else:
                    self._put(w.key, bytes(w.value), w.ttl)


EPHEMERAL: Service[EphemeralStore] = Service("ephemeral store")
"""The app's store (``idp.storage``): Redis, or this process's memory."""
