"""Login challenges: 32 random bytes, short-lived, single use, bound to one transaction.

Issue 4 §6 and docs/bridge-protocol.md §3. The challenge is kept in the ephemeral store under
the login transaction; ``consume`` takes it atomically (``take``), so a second use finds nothing.
A consumed challenge leaves a tombstone for ``challenge_replay_window`` so that a replay is told
apart from an expiry in the logs; neither is ever accepted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

from idp.jpki.errors import ChallengeExpired, ChallengeMismatch, ChallengeReplayed, Malformed
from idp.jpki.store import EphemeralStore

CHALLENGE_BYTES = 32
ENCODED_LENGTH = 43
"""base64url without padding of 32 bytes."""


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(text: object) -> bytes:
    """A challenge as the bridge echoes it; anything but 43 base64url characters is malformed."""
    if not isinstance(text, str) or len(text) != ENCODED_LENGTH or not text.isascii():
        raise Malformed("challenge is not 43 base64url characters")
    try:
        raw = base64.b64decode(text + "=", altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("challenge is not base64url") from None
    if len(raw) != CHALLENGE_BYTES or encode(raw) != text:
        raise Malformed("challenge is not a canonical 32-byte value")
    return raw


class Challenges:
    """Issue and consume challenges in the ephemeral store."""

    def __init__(self, store: EphemeralStore, ttl: float = 120.0, replay_window: float = 900.0):
        self.store, self.ttl, self.replay_window = store, ttl, replay_window

    @staticmethod
    def _key(transaction: str) -> str:
        return "jpki:challenge:" + hashlib.sha256(transaction.encode("utf-8")).hexdigest()

    @staticmethod
    def _used_key(raw: bytes) -> str:
        return "jpki:challenge-used:" + hashlib.sha256(raw).hexdigest()

    def issue(self, transaction: str, now: dt.datetime) -> str:
        """A new challenge for ``transaction`` (replacing any earlier one), base64url."""
        raw = secrets.token_bytes(CHALLENGE_BYTES)
        expires = int((now.timestamp() + self.ttl) * 1000).to_bytes(8, "big")
        # The store's own TTL outlives ours a little so expiry is judged against ``now``.
        self.store.set(self._key(transaction), expires + raw, self.ttl + 60)
        return encode(raw)

    def discard(self, transaction: str) -> None:
        """Burn the transaction's challenge (a malformed answer still uses up the attempt)."""
        self.store.delete(self._key(transaction))

    def consume(self, transaction: str, presented: str, now: dt.datetime) -> bytes:
        """The stored challenge, used up; raises expired / replayed / mismatch."""
        echoed = decode(presented)
        stored = self.store.take(self._key(transaction))
        if stored is None or len(stored) != 8 + CHALLENGE_BYTES:
            if self.store.get(self._used_key(echoed)) is not None:
                raise ChallengeReplayed("this challenge has already been used")
            raise ChallengeExpired("no live challenge for this login")
        expires, raw = int.from_bytes(stored[:8], "big") / 1000, stored[8:]
        self.store.set(self._used_key(raw), b"1", self.replay_window)
        if now.timestamp() > expires:
            raise ChallengeExpired("the challenge has expired")
        if not hmac.compare_digest(raw, echoed):
            if self.store.get(self._used_key(echoed)) is not None:
                raise ChallengeReplayed("an earlier login's challenge was presented")
            raise ChallengeMismatch("the bridge answered another challenge")
        return raw
