"""OCSP answers as the IdP keeps them: in the ephemeral store, shared by every process.

Good and revoked answers alike are cached until the response's nextUpdate, capped by
configuration; unknown answers never are. A failed exchange (the responder unreachable, slow,
erring or talking garbage) is remembered for ``failure_ttl`` seconds beside the answer's key, so
the next checks fail over at once instead of asking again. ``wait_or_lock`` makes one process of
many ask the responder while the others wait, at most one timeout, for its answer or failure.
``forget`` drops a certificate's answer at once, on every node, when the IdP hears of a status
change (status_watch.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from typing import NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from idp.jpki import ocsp_checks as checks
from idp.jpki.errors import (
    CertificateOnHold,
    CertificateRevoked,
    ResponderTimeout,
    ResponderUnavailable,
    ResponseMalformed,
)
from idp.jpki.store import EphemeralStore

WAIT_STEP = 0.05
"""Seconds between looks at the cache while another process asks."""


@dataclass(frozen=True)
class OcspAnswer:
    """What a response established; cached as JSON and replayed from the cache."""

    status: str  # good | revoked | on_hold
    responder: str
    this_update: str
    next_update: str | None
    revocation_reason: str | None = None
    revoked_at: str | None = None

    def raise_if_refused(self) -> OcspAnswer:
        if self.status == "on_hold":
            raise CertificateOnHold("suspended (certificateHold) per OCSP")
        if self.status == "revoked":
            raise CertificateRevoked(
                f"revoked ({self.revocation_reason}) per OCSP",
                revocation_reason=self.revocation_reason,
                revoked_at=dt.datetime.fromisoformat(self.revoked_at) if self.revoked_at else None,
            )
        return self


FAILURES: dict[str, type[ResponderUnavailable]] = {
    kind.reason: kind for kind in (ResponderUnavailable, ResponderTimeout, ResponseMalformed)
}
"""The failures remembered per certificate: the responder could not be used. Authentic
refusals and tampered answers are final anyway; a busy or open breaker is the responder's."""


@dataclass(frozen=True)
class OcspFailure:
    """A failed exchange as remembered: replayed as the same refusal, never as an answer."""

    reason: str
    detail: str

    def raise_if_refused(self) -> NoReturn:
        raise FAILURES.get(self.reason, ResponderUnavailable)(f"{self.detail} (a moment ago)")


class OcspCache:
    """Answers under ``jpki:ocsp:<issuer>:<serial>``, a lock beside each while one is asked, and
    the last failure under ``…:failed`` for ``failure_ttl`` seconds."""

    def __init__(
        self, store: EphemeralStore, max_ttl: float, timeout: float, failure_ttl: float = 0.0
    ) -> None:
        self.store, self.max_ttl, self.timeout = store, max_ttl, timeout
        self.failure_ttl = failure_ttl

    def wait_or_lock(self, key: str, now: dt.datetime) -> OcspAnswer | OcspFailure | None:
        """None once this process holds the lock and must ask; while another process is asking,
        its answer or failure as soon as it is stored. A wait is bounded by one timeout: past it
        the check fails over as ``responder_timeout`` rather than asking beside the other."""
        deadline = time.monotonic() + self.timeout
        while not self.store.add(key + ":lock", b"1", self.timeout + 1):
            if time.monotonic() > deadline:
                return OcspFailure("responder_timeout", "another check of it is still waiting")
            time.sleep(WAIT_STEP)
            cached = self.lookup(key, now)
            if cached is not None:
                return cached
        return None

    def lookup(self, key: str, now: dt.datetime) -> OcspAnswer | OcspFailure | None:
        """The cached answer, else the remembered failure, else None: ask."""
        return self.get(key, now) or self.failure(key)

    def failure(self, key: str) -> OcspFailure | None:
        raw = self.store.get(key + ":failed")
        if raw is None:
            return None
        try:
            return OcspFailure(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    def put_failure(self, key: str, error: ResponderUnavailable) -> None:
        """Remember ``error`` if it says the responder could not be used."""
        if self.failure_ttl > 0 and FAILURES.get(error.reason) is type(error):
            failure = OcspFailure(error.reason, error.detail)
            self.store.set(key + ":failed", json.dumps(asdict(failure)).encode(), self.failure_ttl)

    def get(self, key: str, now: dt.datetime) -> OcspAnswer | None:
        raw = self.store.get(key)
        if raw is None:
            return None
        try:
            answer = OcspAnswer(**json.loads(raw))
        except (ValueError, TypeError):
            return None
        if answer.next_update and dt.datetime.fromisoformat(answer.next_update) <= now:
            return None
        return answer

    def put(
        self, key: str, answer: OcspAnswer, now: dt.datetime, max_ttl: float | None = None
    ) -> None:
        """Keep ``answer`` until its nextUpdate, at most ``max_ttl`` (default the cache's)."""
        if answer.next_update is None:
            return  # RFC 5019 §6: no nextUpdate means newer status is always available
        ttl = (dt.datetime.fromisoformat(answer.next_update) - now).total_seconds()
        ttl = min(ttl, self.max_ttl if max_ttl is None else min(max_ttl, self.max_ttl))
        if ttl > 0:
            self.store.set(key, json.dumps(asdict(answer)).encode(), ttl)

    def unlock(self, key: str) -> None:
        self.store.delete(key + ":lock")

    def forget(self, issuer: x509.Certificate, serial: int) -> None:
        forget(self.store, issuer, serial)


def cache_key(issuer: x509.Certificate, serial: int) -> str:
    """Where ``OcspService.check`` keeps the answer for ``serial`` of ``issuer``'s CA."""
    return f"jpki:ocsp:{issuer.fingerprint(hashes.SHA256()).hex()[:32]}:{serial:x}"


def forget(store: EphemeralStore, issuer: x509.Certificate, serial: int) -> None:
    """Drop the cached answer of one certificate: its status changed at the CA."""
    store.delete(cache_key(issuer, serial))


def answer_from(single: ocsp.OCSPSingleResponse, url: str) -> OcspAnswer:
    next_update = single.next_update_utc.isoformat() if single.next_update_utc else None
    base = {
        "responder": url,
        "this_update": single.this_update_utc.isoformat(),
        "next_update": next_update,
    }
    try:
        checks.check_status(single)
    except CertificateOnHold:
        return OcspAnswer("on_hold", **base)  # type: ignore[arg-type]
    except CertificateRevoked as revoked:
        at = revoked.revoked_at.isoformat() if revoked.revoked_at else None
        return OcspAnswer(
            "revoked", **base, revocation_reason=revoked.revocation_reason, revoked_at=at
        )  # type: ignore[arg-type]
    return OcspAnswer("good", **base)  # type: ignore[arg-type]
