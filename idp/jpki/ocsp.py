"""OCSP as a service (RFC 6960): responder choice, request, checks, cache.

The responder is the configured one for the type, else the certificate's AIA. Every request
carries a fresh nonce (RFC 8954). Answers, good and revoked alike, are cached in the ephemeral
store until nextUpdate, capped by ``ocsp_cache_max_ttl`` and, for the authentication
certificate, by ``status_interval``, so all IdP processes share them; one request per
certificate is in flight at a time (a lock per process, an ``add`` lock across processes), and
the others wait for its answer or its failure, at most one timeout. A failure is remembered for
``ocsp_failure_ttl`` (``ocsp_cache``), and each responder is guarded by a ``ResponderBreaker``
(bounded concurrency, circuit breaker), so a slow responder holds few threads and is asked
seldom. A ``fresh`` check (the signing certificate, ``RevocationChecker.FRESH``) never reads or
writes answers; it does read and write failures, which never let a certificate through.
An optional ``OcspObserver`` hears of each request and cache look-up (the IdP's metrics); the
core itself never needs one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from idp.jpki import ocsp_checks as checks
from idp.jpki.certificate import PARSE_ERRORS
from idp.jpki.errors import (
    JpkiValidationError,
    ResponderTimeout,
    ResponderUnavailable,
    ResponseMalformed,
)
from idp.jpki.ocsp_breaker import ResponderBreaker
from idp.jpki.ocsp_cache import OcspAnswer, OcspCache, answer_from
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.store import EphemeralStore
from idp.jpki.transport import Transport

NONCE_BYTES = 32


class OcspObserver(Protocol):
    """Told what the service did, for counting: never certificates, serials or URLs."""

    def answered(self, kind: CertificateType, outcome: str, seconds: float) -> None:
        """One request to the responder ended: ``outcome`` is the answer's status (``good``,
        ``revoked``, ``on_hold``) or the refusal's ``reason``; ``seconds`` is its duration."""

    def looked_up(self, kind: CertificateType, hit: bool) -> None:
        """One look in the shared cache (``fresh`` checks never look)."""


class OcspService:
    """Ask, check, cache. ``check`` returns a good answer or raises the refusal."""

    def __init__(
        self,
        settings: JpkiSettings,
        transport: Transport,
        store: EphemeralStore,
        nonces: Callable[[], bytes] = lambda: secrets.token_bytes(NONCE_BYTES),
        observer: OcspObserver | None = None,
    ) -> None:
        self.settings, self.transport, self.nonces = settings, transport, nonces
        self.observer = observer
        """Who hears of requests and look-ups (the app's metrics); None: nobody listens."""
        self.cache = OcspCache(
            store, settings.ocsp_cache_max_ttl, settings.ocsp_timeout, settings.ocsp_failure_ttl
        )
        self.breaker = ResponderBreaker(
            store,
            max_concurrent=settings.ocsp_max_concurrent,
            failures=settings.ocsp_breaker_failures,
            open_seconds=settings.ocsp_breaker_open,
            timeout=settings.ocsp_timeout,
        )
        self._locks: dict[str, list] = {}
        self._locks_guard = threading.Lock()

    def responder_url(self, certificate: x509.Certificate, kind: CertificateType) -> str:
        """Pinned per type, else the AIA's OCSP URL (docs/jpki.md §2: AIA unconfirmed)."""
        if kind in self.settings.ocsp_urls:
            return self.settings.ocsp_urls[kind]
        try:
            aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        except x509.ExtensionNotFound:
            raise ResponderUnavailable("no OCSP responder configured or in the AIA") from None
        for description in aia.value:
            if description.access_method == AuthorityInformationAccessOID.OCSP:
                return str(description.access_location.value)
        raise ResponderUnavailable("no OCSP responder configured or in the AIA")

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, kind: CertificateType,
        now: dt.datetime, *, fresh: bool = False,
    ) -> tuple[OcspAnswer, bool]:  # fmt: skip
        """The good answer and whether it came from the cache; raises any refusal.

        ``fresh`` asks the responder now and leaves cached answers alone, both ways: the answer
        must describe the certificate at this moment (the signing certificate). A failure a
        moment ago is replayed either way: it fails over at once instead of waiting again.
        """
        issuer_id = issuer.fingerprint(hashes.SHA256()).hex()[:32]
        key = f"jpki:ocsp:{issuer_id}:{certificate.serial_number:x}"
        if fresh:
            failed = self.cache.failure(key)
            if failed is not None:
                failed.raise_if_refused()
            return self._ask_once(key, certificate, issuer, kind, now).raise_if_refused(), False
        cached = self.cache.lookup(key, now)
        if cached is not None:
            self._looked_up(kind, hit=True)
            return cached.raise_if_refused(), True
        with self._single_flight(key):
            cached = self.cache.lookup(key, now) or self.cache.wait_or_lock(key, now)
            self._looked_up(kind, hit=cached is not None)
            if cached is not None:
                return cached.raise_if_refused(), True
            try:
                answer = self._ask_once(key, certificate, issuer, kind, now)
                ttl = self.settings.status_interval if kind is CertificateType.AUTH else None
                self.cache.put(key, answer, now, ttl)
            finally:
                self.cache.unlock(key)
        return answer.raise_if_refused(), False

    def _ask_once(
        self, key: str, certificate: x509.Certificate, issuer: x509.Certificate,
        kind: CertificateType, now: dt.datetime,
    ) -> OcspAnswer:  # fmt: skip
        """Ask, remembering a failure for the checks that come next."""
        try:
            return self._ask(certificate, issuer, kind, now)
        except ResponderUnavailable as error:
            self.cache.put_failure(key, error)
            raise

    @contextlib.contextmanager
    def _single_flight(self, key: str) -> Iterator[None]:
        """One thread of this process per certificate; the others wait at most one timeout
        (then fail over as ``responder_timeout``). The lock is dropped when nobody holds it."""
        with self._locks_guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=self.settings.ocsp_timeout + 1):
                raise ResponderTimeout("another check of this certificate is still waiting")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]

    def _looked_up(self, kind: CertificateType, hit: bool) -> None:
        if self.observer is not None:
            self.observer.looked_up(kind, hit)

    def _answered(self, kind: CertificateType, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer.answered(kind, outcome, time.perf_counter() - started)

    def _ask(
        self, certificate: x509.Certificate, issuer: x509.Certificate, kind: CertificateType,
        now: dt.datetime,
    ) -> OcspAnswer:  # fmt: skip
        url = self.responder_url(certificate, kind)
        nonce = self.nonces()
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303 - RFC 5019 CertID
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        started = time.perf_counter()
        try:
            with self.breaker.exchange(url, now):
                body = self.transport.post(
                    url,
                    request.public_bytes(serialization.Encoding.DER),
                    "application/ocsp-request",
                    self.settings.ocsp_timeout,
                )
                answer = self.validate(body, request, issuer, nonce, url, now)
        except JpkiValidationError as error:
            self._answered(kind, error.reason, started)
            raise
        self._answered(kind, answer.status, started)
        return answer

    def validate(
        self, body: bytes, request: ocsp.OCSPRequest, issuer: x509.Certificate, nonce: bytes,
        url: str, now: dt.datetime,
    ) -> OcspAnswer:  # fmt: skip
        """The checks, in order; the status check comes last, once the answer is authentic."""
        skew = dt.timedelta(seconds=self.settings.max_clock_skew)
        max_age = dt.timedelta(seconds=self.settings.ocsp_max_age)
        try:  # cryptography parses lazily: a broken field may surface in any check
            response = checks.parse_response(body)
            checks.check_response_status(response)
            single = checks.find_single(response, request)
            checks.check_signature(response, issuer, now)
            if self.settings.ocsp_nonce_required:
                checks.check_nonce(response, nonce)
            checks.check_this_update_fresh(single, now, skew, max_age)
            return answer_from(single, url)
        except PARSE_ERRORS:
            raise ResponseMalformed("the OCSP response does not parse") from None
