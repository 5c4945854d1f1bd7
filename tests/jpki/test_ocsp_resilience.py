"""OCSP when the responder misbehaves: failures remembered briefly, one exchange per certificate
in flight (across threads and processes), bounded concurrency and a circuit breaker per
responder, and the authentication certificate's cached answer bounded by status_interval."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest

from idp.jpki.errors import (
    JpkiValidationError,
    ResponderBusy,
    ResponderCircuitOpen,
    ResponderTimeout,
    ResponderUnavailable,
    ResponseBadSignature,
)
from idp.jpki.ocsp import OcspService
from idp.jpki.settings import CertificateType
from idp.storage.ephemeral import MemoryStore
from sandbox import ocsp as sandbox_ocsp
from sandbox import pki
from sandbox.profiles import CertKind
from tests.jpki.conftest import make_settings
from tests.jpki.test_ocsp import NONCE, Counting

AUTH = CertificateType.AUTH


class Scripted:
    """A transport that fails (``error``) or answers ``body``, counting calls; ``gate`` holds
    each call until set, to keep exchanges under way."""

    def __init__(self, error: Exception | None = None, body: bytes = b"") -> None:
        self.error, self.body, self.calls = error, body, 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)
        self._lock = threading.Lock()

    def post(self, url, body, content_type, timeout):  # noqa: ARG002
        with self._lock:
            self.calls += 1
        self.entered.release()
        self.gate.wait(10)
        if self.error is not None:
            raise self.error
        return self.body


def _service(settings, transport, store=None, **changes) -> OcspService:
    settings = settings.__class__(**{**settings.__dict__, **changes})
    return OcspService(settings, transport, store or MemoryStore(), nonces=lambda: NONCE)


@pytest.fixture(scope="module")
def leaves(auth_ca, card_key):
    return [pki.make_auth_certificate(auth_ca, card_key.public_key()) for _ in range(4)]


def _good(auth_ca, leaf, now, **options) -> bytes:
    return sandbox_ocsp.make_ocsp_response(auth_ca, leaf, nonce=NONCE, now=now, **options)


# --- the negative cache ---------------------------------------------------------------------


def test_a_failure_is_remembered_so_the_next_check_fails_over_without_asking(
    settings, auth_ca, leaves, now, store
):
    transport = Scripted(ResponderTimeout("no answer within 3 s"))
    service = _service(settings, transport, store)
    for _ in range(3):
        with pytest.raises(ResponderTimeout) as refused:
            service.check(leaves[0], auth_ca.certificate, AUTH, now)
    assert transport.calls == 1
    assert refused.value.reason == "responder_timeout"
    assert "a moment ago" in refused.value.detail


def test_a_remembered_failure_is_shared_by_processes_and_per_certificate(
    settings, auth_ca, leaves, now, store
):
    transport = Scripted(ResponderUnavailable("HTTP 500"))
    first, second = (_service(settings, transport, store) for _ in range(2))
    with pytest.raises(ResponderUnavailable):
        first.check(leaves[0], auth_ca.certificate, AUTH, now)
    with pytest.raises(ResponderUnavailable, match="a moment ago"):
        second.check(leaves[0], auth_ca.certificate, AUTH, now)
    with pytest.raises(ResponderUnavailable):
        second.check(leaves[1], auth_ca.certificate, AUTH, now)  # another card: asked
    assert transport.calls == 2


def test_a_remembered_failure_expires_after_ocsp_failure_ttl(settings, auth_ca, leaves, now):
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    transport = Scripted(ResponderUnavailable("unreachable"))
    service = _service(settings, transport, store, ocsp_failure_ttl=10.0)
    with pytest.raises(ResponderUnavailable):
        service.check(leaves[0], auth_ca.certificate, AUTH, now)
    clock[0] = 9.9
    with pytest.raises(ResponderUnavailable, match="a moment ago"):
        service.check(leaves[0], auth_ca.certificate, AUTH, now)
    clock[0] = 10.1
    transport.error, transport.body = None, _good(auth_ca, leaves[0], now)
    assert service.check(leaves[0], auth_ca.certificate, AUTH, now)[0].status == "good"
    assert transport.calls == 2


def test_a_fresh_check_replays_a_failure_but_never_a_good_answer(settings, auth_ca, leaves, now):
    transport = Scripted(body=_good(auth_ca, leaves[0], now))
    service = _service(settings, transport)
    service.check(leaves[0], auth_ca.certificate, AUTH, now)
    service.check(leaves[0], auth_ca.certificate, AUTH, now, fresh=True)
    assert transport.calls == 2  # the cached good answer was not used
    transport.error = ResponderTimeout("no answer")
    for _ in range(2):
        with pytest.raises(ResponderTimeout):
            service.check(leaves[0], auth_ca.certificate, AUTH, now, fresh=True)
    assert transport.calls == 3


def test_a_tampered_answer_is_not_remembered_as_a_failure(
    settings, auth_ca, foreign_ca, leaves, now
):
    """It is final, not a reason to fail over: each check asks and refuses it again."""
    forged = _good(auth_ca, leaves[0], now, signer=foreign_ca.responder)
    transport = Scripted(body=forged)
    service = _service(settings, transport)
    for _ in range(2):
        with pytest.raises(ResponseBadSignature):
            service.check(leaves[0], auth_ca.certificate, AUTH, now)
    assert transport.calls == 2


# --- single flight --------------------------------------------------------------------------


def _concurrently(count: int, check) -> list[JpkiValidationError | None]:
    outcomes: list[JpkiValidationError | None] = []

    def run() -> None:
        try:
            check()
            outcomes.append(None)
        except JpkiValidationError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_threads_and_processes_waiting_on_a_slow_responder_share_its_one_failure(
    state, server, cards, tmp_path, now, store
):
    """Before: each waiting thread asked again once the first gave up (a retry storm)."""
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    issuer = state.ca(CertKind.AUTH).certificate
    transport = Counting()
    settings = make_settings(state, server, tmp_path, ocsp_timeout=0.5)
    services = [OcspService(settings, transport, store) for _ in range(2)]
    turns = iter(range(8))
    with server.misbehaving(ocsp="slow", kind="auth", delay=1.5):
        outcomes = _concurrently(
            8, lambda: services[next(turns) % 2].check(certificate, issuer, AUTH, now)
        )
    assert transport.calls == 1
    assert len(outcomes) == 8
    assert {type(error) for error in outcomes} == {ResponderTimeout}


# --- bounded concurrency and the circuit breaker --------------------------------------------


def test_a_check_finding_every_slot_taken_is_refused_at_once(settings, auth_ca, leaves, now):
    transport = Scripted(body=b"")
    transport.gate.clear()
    service = _service(settings, transport, ocsp_max_concurrent=2)
    held = [
        threading.Thread(target=_quietly(service.check, leaf, auth_ca.certificate, AUTH, now))
        for leaf in leaves[:2]
    ]
    for thread in held:
        thread.start()
    for _ in held:
        assert transport.entered.acquire(timeout=10)
    with pytest.raises(ResponderBusy) as refused:
        service.check(leaves[2], auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "responder_busy"
    assert isinstance(refused.value, ResponderUnavailable)  # so ocsp,crl falls back to the CRL
    transport.gate.set()
    for thread in held:
        thread.join(10)
    assert transport.calls == 2
    transport.body = _good(auth_ca, leaves[2], now)
    assert service.check(leaves[2], auth_ca.certificate, AUTH, now)[0].status == "good"


def _quietly(function, *args):
    def run() -> None:
        with contextlib.suppress(JpkiValidationError):
            function(*args)

    return run


def test_the_breaker_opens_after_repeated_failures_and_a_probe_closes_it(
    settings, auth_ca, leaves, now, store
):
    transport = Scripted(ResponderTimeout("no answer"))
    service, other_process = (
        _service(settings, transport, store, ocsp_breaker_failures=3, ocsp_breaker_open=30.0)
        for _ in range(2)
    )
    for leaf in leaves[:3]:
        with pytest.raises(ResponderTimeout):
            service.check(leaf, auth_ca.certificate, AUTH, now)
    for checker in (service, other_process):
        with pytest.raises(ResponderCircuitOpen) as refused:
            checker.check(leaves[3], auth_ca.certificate, AUTH, now + dt.timedelta(seconds=29))
        assert isinstance(refused.value, ResponderUnavailable)
    assert transport.calls == 3
    later = now + dt.timedelta(seconds=31)  # half-open: one probe
    transport.error, transport.body = None, _good(auth_ca, leaves[3], later)
    answer, _ = other_process.check(leaves[3], auth_ca.certificate, AUTH, later)
    assert (answer.status, transport.calls) == ("good", 4)
    answer, _ = service.check(leaves[3], auth_ca.certificate, AUTH, later, fresh=True)
    assert (answer.status, transport.calls) == ("good", 5)  # closed for the first process too


def test_a_failed_probe_opens_the_breaker_again(settings, auth_ca, leaves, now):
    transport = Scripted(ResponderUnavailable("unreachable"))
    service = _service(settings, transport, ocsp_breaker_failures=2, ocsp_breaker_open=10.0)
    for leaf in leaves[:2]:
        with pytest.raises(ResponderUnavailable):
            service.check(leaf, auth_ca.certificate, AUTH, now)
    probe_at = now + dt.timedelta(seconds=11)
    with pytest.raises(ResponderUnavailable) as probed:
        service.check(leaves[2], auth_ca.certificate, AUTH, probe_at)
    assert type(probed.value) is ResponderUnavailable  # the probe asked, and failed
    with pytest.raises(ResponderCircuitOpen):
        service.check(leaves[3], auth_ca.certificate, AUTH, probe_at + dt.timedelta(seconds=9))
    assert transport.calls == 3


def test_only_one_probe_asks_a_half_open_responder(settings, auth_ca, leaves, now):
    transport = Scripted(ResponderUnavailable("unreachable"))
    service = _service(settings, transport, ocsp_breaker_failures=1, ocsp_breaker_open=10.0)
    with pytest.raises(ResponderUnavailable):
        service.check(leaves[0], auth_ca.certificate, AUTH, now)
    later = now + dt.timedelta(seconds=11)
    transport.gate.clear()
    probe = threading.Thread(
        target=_quietly(service.check, leaves[1], auth_ca.certificate, AUTH, later)
    )
    probe.start()
    assert transport.entered.acquire(timeout=10)
    with pytest.raises(ResponderCircuitOpen, match="probe"):
        service.check(leaves[2], auth_ca.certificate, AUTH, later)
    transport.gate.set()
    probe.join(10)
    assert transport.calls == 2


def test_an_answering_responder_does_not_open_the_breaker(
    settings, auth_ca, foreign_ca, leaves, now
):
    """Refusals and tampered answers come from a responder that is up."""
    transport = Scripted(body=_good(auth_ca, leaves[0], now, signer=foreign_ca.responder))
    service = _service(settings, transport, ocsp_breaker_failures=2)
    for _ in range(4):
        with pytest.raises(ResponseBadSignature):
            service.check(leaves[0], auth_ca.certificate, AUTH, now)
    assert transport.calls == 4


# --- the cache's lifetime for the authentication certificate --------------------------------


def test_a_good_authentication_answer_is_cached_no_longer_than_status_interval(
    settings, auth_ca, leaves, now
):
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    transport = Scripted(body=_good(auth_ca, leaves[0], now))  # nextUpdate in an hour
    service = _service(settings, transport, store, status_interval=60.0, ocsp_cache_max_ttl=300.0)
    service.check(leaves[0], auth_ca.certificate, AUTH, now)
    clock[0] = 59.0
    assert service.check(leaves[0], auth_ca.certificate, AUTH, now)[1] is True
    clock[0] = 61.0
    assert service.check(leaves[0], auth_ca.certificate, AUTH, now)[1] is False
    assert transport.calls == 2
