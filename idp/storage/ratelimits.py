"""Rate limits that hold across every IdP process: the ``limits`` library on the ephemeral store.

One mechanism for every limit of ``[limits]`` (``idp.config.LimitsConfig``): ``limits``'
fixed-window strategy, whose counters are the ephemeral store's own (``EphemeralStore.incr``,
under its key prefix: Redis in production, this process's memory in development). A window
starts with the first request counted in it and ends with its counter's TTL; requests refused
while it lasts do not move its end. The store's clock is the only clock: ``Retry-After`` is the
counter's remaining TTL, so tests move time with the in-process store's clock.

Why not ``limits``' own Redis storage (or Flask-Limiter on it): it needs a connection of its
own and cannot use the in-process store, so development and the test suites would count
elsewhere than production does; ``limits.storage.Storage`` lets the library count in our store.
A failing store raises (redis.RedisError): no count, no request served (fail closed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict

import redis
from limits import RateLimitItem
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from ..config import LimitsConfig, parse_rate_limit
from ..services import Service
from .ephemeral import EphemeralStore

NAMESPACE = "limit"
"""First part of every counter's key: ``limit/<name>/<identifier>/<N>/<M>/<unit>``."""


class Limited(Exception):
    """A request over ``limit``; it may come back in ``retry_after`` seconds."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"rate limit {limit}: retry after {retry_after} s")
        self.limit, self.retry_after = limit, retry_after


class EphemeralCounters(Storage):
    """``limits``' storage interface on an ephemeral store (fixed windows only)."""

    STORAGE_SCHEME = None  # built by RateLimits, never from a storage URI

    def __init__(self, store: Callable[[], EphemeralStore]) -> None:
        super().__init__()
        self._store = store

    @property
    def base_exceptions(self) -> type[Exception]:
        return redis.RedisError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        if amount != 1:
            raise ValueError("the ephemeral store counts one at a time")
        return self._store().incr(key, expiry)

    def get(self, key: str) -> int:
        return self._store().counters(key)[0][0]

    def get_expiry(self, key: str) -> float:
        return time.time() + self._store().counters(key)[0][1]

    def check(self) -> bool:
        self._store().get("limit/check")
        return True

    def reset(self) -> int | None:
        return None  # counters expire by themselves; nothing scans the shared store

    def clear(self, key: str) -> None:
        self._store().delete(key)


class RateLimits:
    """The configured limits of one app; ``hit`` counts, ``check`` only looks."""

    def __init__(self, config: LimitsConfig, store: Callable[[], EphemeralStore]) -> None:
        self._items: dict[str, RateLimitItem] = {}
        for name, text in asdict(config).items():
            item = parse_rate_limit(text)
            self._items[name] = type(item)(item.amount, item.multiples, namespace=NAMESPACE)
        self._store = store
        self._limiter = FixedWindowRateLimiter(EphemeralCounters(store))

    def key(self, limit: str, identifier: str) -> str:
        """The store key (before the store's prefix) of ``identifier``'s counter for ``limit``."""
        return self._items[limit].key_for(limit, identifier)

    def hit(self, limit: str, identifier: str) -> None:
        """Count one request against ``limit`` for ``identifier``; Limited if over it."""
        item = self._items[limit]
        if not self._limiter.hit(item, limit, identifier):
            raise Limited(limit, self.wait(limit, identifier))

    def check(self, *pairs: tuple[str, str]) -> None:
        """Limited if any (limit, identifier) has used it up; counts nothing. One round trip
        for all (``limits``' own test reads one counter per call)."""
        found = self._store().counters(*(self.key(limit, ident) for limit, ident in pairs))
        for (limit, _), (count, left) in zip(pairs, found, strict=True):
            if count >= self._items[limit].amount:
                raise Limited(limit, max(1, math.ceil(left)))

    def count(self, limit: str, identifier: str) -> None:
        """Count one (a failure, counted after the fact) without refusing anything now."""
        self._limiter.hit(self._items[limit], limit, identifier)

    def wait(self, limit: str, identifier: str) -> int:
        """Whole seconds until the window of ``identifier`` ends (at least 1), by the store's
        clock (``get_expiry`` would mix in this machine's)."""
        return max(1, math.ceil(self._store().counters(self.key(limit, identifier))[0][1]))


RATE_LIMITS: Service[RateLimits] = Service("rate limits")
"""The app's ``[limits]`` (``idp.storage``), counted in its ephemeral store."""
