"""The ephemeral store as the JPKI core needs it (docs/contributing.md §6).

A structural Protocol, so ``idp.jpki`` imports nothing from the rest of the IdP:
``idp.storage.ephemeral.MemoryStore`` and ``RedisStore`` satisfy it as they are.
"""

from __future__ import annotations

from typing import Protocol


class EphemeralStore(Protocol):
    """Bytes under string keys, each with a time to live in seconds."""

    def set(self, key: str, value: bytes, ttl: float) -> None: ...

    def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Store only if absent; True if stored."""
        ...

    def get(self, key: str) -> bytes | None: ...

    def take(self, key: str) -> bytes | None:
        """Get and delete atomically: single use."""
        ...

    def delete(self, key: str) -> None: ...
