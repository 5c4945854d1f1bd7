"""Login challenges: 32 random bytes, short-lived, single use, bound to one transaction.

See docs/bridge-protocol.md §3. The challenge is kept in the ephemeral store under
the login transaction; ``consume`` takes it atomically (``take``), so a second use finds nothing.
A consumed challenge leaves a tombstone for ``challenge_replay_window`` so that a replay is told
apart from an expiry in the logs; neither is ever accepted.

A *bound* challenge (``issue_bound``) is not random itself: it is
``SHA-256("jpki-idp consent v1" ‖ nonce ‖ content digest)`` with a fresh random 32-byte nonce, so
the card's signature over it (bridge-protocol.md §4, unchanged) also binds the content the
citizen approved (the consent step-up). The nonce keeps it unpredictable and single
use like any other challenge; the caller keeps nonce and digest as evidence, from which anyone
can recompute the value the card signed. Storing, expiry and consumption are the same.
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
CONSENT_CONTEXT = b"jpki-idp consent v1"
"""Domain separation: a bound challenge can never equal a value made for another use."""
NONCE_BYTES = 32
DIGEST_BYTES = 32


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


def bound_value(nonce: bytes, content_digest: bytes) -> bytes:
    """The 32 challenge bytes binding ``content_digest`` (SHA-256, 32 bytes) with ``nonce``."""
    if len(nonce) != NONCE_BYTES or len(content_digest) != DIGEST_BYTES:
        raise ValueError("a bound challenge needs a 32-byte nonce and a 32-byte SHA-256 digest")
    return hashlib.sha256(CONSENT_CONTEXT + nonce + content_digest).digest()


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
        return self.issue_value(transaction, secrets.token_bytes(CHALLENGE_BYTES), now)

    def issue_bound(
        self, transaction: str, content_digest: bytes, now: dt.datetime
    ) -> tuple[str, bytes]:
        """A new challenge binding ``content_digest``, and the random nonce it was made with."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return self.issue_value(transaction, bound_value(nonce, content_digest), now), nonce

    def issue_value(self, transaction: str, raw: bytes, now: dt.datetime) -> str:
        """Store the caller's 32 bytes as ``transaction``'s challenge (replacing any earlier one).

        The caller answers for them being unpredictable and never issued before: ``issue``
        draws them at random, ``issue_bound`` hashes a fresh random nonce into them."""
        if not isinstance(raw, bytes) or len(raw) != CHALLENGE_BYTES:
            raise ValueError("a challenge is exactly 32 bytes")
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
