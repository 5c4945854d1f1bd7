"""OCSP: every response check and every misbehaviour of the sandbox responder."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from idp.jpki.errors import (
    CertificateOnHold,
    CertificateRevoked,
    JpkiValidationError,
    NonceMismatch,
    ResponderTimeout,
    ResponderUnavailable,
    ResponseBadSignature,
    ResponseMalformed,
    ResponseMismatch,
    ResponseStale,
    StatusUnknown,
)
from idp.jpki.ocsp import OcspService
from idp.jpki.settings import CertificateType
from idp.jpki.transport import HttpTransport
from idp.storage.ephemeral import MemoryStore
from sandbox import ocsp as sandbox_ocsp
from sandbox import pki
from sandbox.profiles import CertKind
from tests.jpki.conftest import make_settings

AUTH = CertificateType.AUTH
NONCE = bytes(range(32))


class Fixed:
    """A transport answering with factory-made bytes: one check per test, no network."""

    def __init__(self, body: bytes) -> None:
        self.body, self.calls = body, 0

    def post(self, url, body, content_type, timeout):  # noqa: ARG002
        self.calls += 1
        return self.body


class Counting(HttpTransport):
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def post(self, url, body, content_type, timeout):
        with self._lock:
            self.calls += 1
        return super().post(url, body, content_type, timeout)


def _service(settings, body: bytes, store=None) -> OcspService:
    return OcspService(settings, Fixed(body), store or MemoryStore(), nonces=lambda: NONCE)


@pytest.fixture(scope="module")
def leaf(auth_ca, card_key):
    return pki.make_auth_certificate(auth_ca, card_key.public_key())


# --- response checks, with factory-made responses -------------------------------------------


def test_good_response_from_the_delegated_responder_is_good(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, nonce=NONCE, now=now)
    answer, cached = _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)
    assert (answer.status, cached) == ("good", False)


def test_response_signed_by_the_ca_itself_is_good(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, nonce=NONCE, now=now, signer=auth_ca.root)
    assert _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)[0].status == "good"


def test_ocsp_status_unknown_is_rejected_as_status_unknown(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, status="unknown", nonce=NONCE, now=now)
    with pytest.raises(StatusUnknown) as refused:
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "status_unknown"


def test_revoked_response_is_revoked_with_reason_and_time(settings, auth_ca, leaf, now):
    at = (now - dt.timedelta(days=1)).replace(microsecond=0)
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, status="revoked", revoked_at=at, reason="affiliationChanged",
        nonce=NONCE, now=now,
    )  # fmt: skip
    with pytest.raises(CertificateRevoked) as refused:
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "revoked"
    assert refused.value.revocation_reason == "affiliationChanged"
    assert refused.value.revoked_at == at


def test_certificate_hold_response_is_on_hold(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, status="revoked", reason="certificateHold", nonce=NONCE, now=now
    )
    with pytest.raises(CertificateOnHold) as refused:
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "on_hold"


def test_response_signed_by_a_forged_responder_is_bad_signature(
    settings, auth_ca, foreign_ca, leaf, now
):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, now=now, signer=foreign_ca.responder
    )
    with pytest.raises(ResponseBadSignature):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


def test_response_signed_by_the_ca_key_of_another_ca_is_bad_signature(
    settings, auth_ca, foreign_ca, leaf, now
):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, now=now, signer=foreign_ca.root
    )
    with pytest.raises(ResponseBadSignature):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


def test_responder_certificate_without_ocsp_signing_is_bad_signature(settings, auth_ca, leaf, now):
    """A certificate the CA issued for something else (here: a card's) may not sign answers."""
    key = pki.new_key()
    other = pki.make_auth_certificate(auth_ca, key.public_key(), now=now)
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, now=now, signer=pki.Issuer(key, other)
    )
    with pytest.raises(ResponseBadSignature):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


@pytest.mark.parametrize(
    ("usages", "good"),
    [
        ([ExtendedKeyUsageOID.OCSP_SIGNING], True),
        ([ExtendedKeyUsageOID.CLIENT_AUTH], False),
        ([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.CODE_SIGNING], False),
    ],
)
def test_delegated_responder_needs_the_ocsp_signing_usage(
    settings, auth_ca, leaf, now, usages, good
):
    """Issued by the CA, in its validity, named by the response, signing correctly: only the
    extended key usage differs between the accepted responder and the refused ones."""
    responder = pki.make_responder(auth_ca.root, now=now, usages=usages)
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, nonce=NONCE, now=now, signer=responder)
    service = _service(settings, body)
    if good:
        assert service.check(leaf, auth_ca.certificate, AUTH, now)[0].status == "good"
        return
    with pytest.raises(ResponseBadSignature, match="neither the CA nor authorised"):
        service.check(leaf, auth_ca.certificate, AUTH, now)


def test_missing_nonce_is_nonce_mismatch(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, now=now)
    with pytest.raises(NonceMismatch) as refused:
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "nonce_mismatch"


def test_stale_response_is_response_stale(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, this_update=now - dt.timedelta(days=2),
        next_update=now - dt.timedelta(days=1),
    )  # fmt: skip
    with pytest.raises(ResponseStale):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


# An answer without nextUpdate (RFC 6960 §4.2.2.1: "newer information is always available") is
# current only when it is made: accepted while its thisUpdate is at most ocsp_max_age old (and not
# in the future), used for the one check that asked, never cached (docs/operators.md §7).


@pytest.mark.parametrize(("age", "fresh"), [(3600, True), (86400 - 1, True), (86400 + 1, False)])
def test_answer_without_next_update_is_judged_by_ocsp_max_age(
    settings, auth_ca, leaf, now, age, fresh
):
    assert settings.ocsp_max_age == 86400
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, this_update=now - dt.timedelta(seconds=age),
        omit_next_update=True,
    )  # fmt: skip
    service = _service(settings, body)
    if fresh:
        answer, _ = service.check(leaf, auth_ca.certificate, AUTH, now)
        assert (answer.status, answer.next_update) == ("good", None)
        return
    with pytest.raises(ResponseStale, match="no nextUpdate") as refused:
        service.check(leaf, auth_ca.certificate, AUTH, now)
    assert refused.value.reason == "response_stale"


def test_answer_without_next_update_is_never_cached(settings, auth_ca, leaf, now, store):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, now=now, omit_next_update=True
    )
    service = _service(settings, body, store)
    for _ in range(2):
        answer, cached = service.check(leaf, auth_ca.certificate, AUTH, now)
        assert (answer.status, cached) == ("good", False)
    assert service.transport.calls == 2


def test_response_from_the_future_is_response_stale(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(
        auth_ca, leaf, nonce=NONCE, this_update=now + dt.timedelta(hours=1)
    )
    with pytest.raises(ResponseStale):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


def test_response_about_another_serial_is_response_mismatch(settings, auth_ca, leaf, now):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf.serial_number + 1, nonce=NONCE, now=now)
    with pytest.raises(ResponseMismatch):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


@pytest.mark.parametrize("status", ["tryLater", "internalError", "unauthorized", "sigRequired"])
def test_unsuccessful_response_is_responder_unavailable(settings, auth_ca, leaf, now, status):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, response_status=status)
    with pytest.raises(ResponderUnavailable):
        _service(settings, body).check(leaf, auth_ca.certificate, AUTH, now)


def test_garbage_is_response_malformed(settings, auth_ca, leaf, now):
    with pytest.raises(ResponseMalformed):
        _service(settings, b"\x30\x03\x0a\x01\x00garbage").check(
            leaf, auth_ca.certificate, AUTH, now
        )


def test_no_responder_url_is_responder_unavailable(settings, auth_ca, card_key, now):
    from cryptography import x509

    leaf = pki.make_auth_certificate(
        auth_ca, card_key.public_key(), now=now, omit=[x509.AuthorityInformationAccess]
    )
    with pytest.raises(ResponderUnavailable, match="no OCSP responder"):
        _service(settings, b"").check(leaf, auth_ca.certificate, AUTH, now)


# --- the cache ----------------------------------------------------------------------------


def test_good_answer_is_cached_until_next_update(settings, auth_ca, leaf, now, store):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, nonce=NONCE, now=now)
    service = _service(settings, body, store)
    service.check(leaf, auth_ca.certificate, AUTH, now)
    assert service.check(leaf, auth_ca.certificate, AUTH, now)[1] is True
    assert service.transport.calls == 1
    later = now + dt.timedelta(hours=2)  # past nextUpdate: asked again (and now stale)
    with pytest.raises(ResponseStale):
        service.check(leaf, auth_ca.certificate, AUTH, later)
    assert service.transport.calls == 2


def test_revoked_answer_is_cached_and_still_refused(settings, auth_ca, leaf, now, store):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, status="revoked", nonce=NONCE, now=now)
    service = _service(settings, body, store)
    for _ in range(2):
        with pytest.raises(CertificateRevoked):
            service.check(leaf, auth_ca.certificate, AUTH, now)
    assert service.transport.calls == 1


def test_unknown_and_errors_are_not_cached(settings, auth_ca, leaf, now, store):
    body = sandbox_ocsp.make_ocsp_response(auth_ca, leaf, status="unknown", nonce=NONCE, now=now)
    service = _service(settings, body, store)
    for _ in range(2):
        with pytest.raises(StatusUnknown):
            service.check(leaf, auth_ca.certificate, AUTH, now)
    assert service.transport.calls == 2


# --- the live sandbox responder -------------------------------------------------------------


def _live(state, server, tmp_path, store=None, transport=None, **changes):
    settings = make_settings(state, server, tmp_path, **changes)
    return OcspService(settings, transport or HttpTransport(), store or MemoryStore())


def test_live_responder_says_good_for_an_issued_card(state, server, cards, tmp_path, now):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    answer, _ = _live(state, server, tmp_path).check(
        certificate, state.ca(CertKind.AUTH).certificate, AUTH, now
    )
    assert answer.status == "good"
    assert answer.responder == server.ocsp_url("auth")


def test_live_responder_says_revoked_and_on_hold(state, server, cards, tmp_path, now):
    service = _live(state, server, tmp_path)
    with pytest.raises(CertificateRevoked):
        service.check(state.certificate(cards.revoked.id, CertKind.AUTH),
                      state.ca(CertKind.AUTH).certificate, AUTH, now)  # fmt: skip
    with pytest.raises(CertificateOnHold):
        service.check(state.certificate(cards.revoked.id, CertKind.SIGN),
                      state.ca(CertKind.SIGN).certificate, CertificateType.SIGN, now)  # fmt: skip


def test_live_responder_says_unknown_for_a_certificate_it_never_issued(
    state, server, auth_ca, leaf, tmp_path, now
):
    service = _live(state, server, tmp_path, ocsp_urls={AUTH: server.ocsp_url("auth")})
    with pytest.raises(StatusUnknown):
        service.check(leaf, auth_ca.certificate, AUTH, now)


MISBEHAVIOURS = [
    ("down", ResponderUnavailable, "responder_unavailable"),
    ("http_500", ResponderUnavailable, "responder_unavailable"),
    ("garbage", ResponseMalformed, "response_malformed"),
    ("wrong_key", ResponseBadSignature, "response_bad_signature"),
    ("stale", ResponseStale, "response_stale"),
    ("no_nonce", NonceMismatch, "nonce_mismatch"),
    ("wrong_nonce", NonceMismatch, "nonce_mismatch"),
    ("wrong_serial", ResponseMismatch, "response_mismatch"),
    ("try_later", ResponderUnavailable, "responder_unavailable"),
    ("internal_error", ResponderUnavailable, "responder_unavailable"),
    ("unauthorized", ResponderUnavailable, "responder_unavailable"),
    ("malformed_request", ResponderUnavailable, "responder_unavailable"),
]


@pytest.mark.parametrize(
    ("mode", "error", "reason"), MISBEHAVIOURS, ids=[m[0] for m in MISBEHAVIOURS]
)
def test_misbehaving_responder_is_refused_with_its_own_reason(
    state, server, cards, tmp_path, now, mode, error, reason
):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    with server.misbehaving(ocsp=mode, kind="auth"), pytest.raises(error) as refused:
        _live(state, server, tmp_path).check(
            certificate, state.ca(CertKind.AUTH).certificate, AUTH, now
        )
    assert refused.value.reason == reason


def test_slow_responder_is_responder_timeout(state, server, cards, tmp_path, now):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    service = _live(state, server, tmp_path, ocsp_timeout=0.3)
    with (
        server.misbehaving(ocsp="slow", kind="auth", delay=1.0),
        pytest.raises(ResponderTimeout) as refused,
    ):
        service.check(certificate, state.ca(CertKind.AUTH).certificate, AUTH, now)
    assert refused.value.reason == "responder_timeout"


def test_refused_connection_is_responder_unavailable(state, server, cards, tmp_path, now):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    service = _live(state, server, tmp_path)
    with server.refusing(), pytest.raises(ResponderUnavailable):
        service.check(certificate, state.ca(CertKind.AUTH).certificate, AUTH, now)


def test_live_answer_without_next_update_is_good_and_asked_afresh_each_time(
    state, server, cards, tmp_path, now
):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    transport = Counting()
    service = _live(state, server, tmp_path, transport=transport)
    with server.misbehaving(ocsp="no_next_update", kind="auth"):
        for _ in range(2):
            answer, cached = service.check(
                certificate, state.ca(CertKind.AUTH).certificate, AUTH, now
            )
            assert (answer.status, answer.next_update, cached) == ("good", None, False)
    assert transport.calls == 2


def test_ca_signed_live_answer_is_good(state, server, cards, tmp_path, now):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    with server.misbehaving(ocsp="ca_signed", kind="auth"):
        answer, _ = _live(state, server, tmp_path).check(
            certificate, state.ca(CertKind.AUTH).certificate, AUTH, now
        )
    assert answer.status == "good"


# --- one request per certificate ------------------------------------------------------------


def test_concurrent_checks_in_one_process_make_one_request(
    state, server, cards, tmp_path, now, store
):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    transport = Counting()
    service = _live(state, server, tmp_path, store=store, transport=transport)
    issuer = state.ca(CertKind.AUTH).certificate
    errors: list[Exception] = []

    def run() -> None:
        try:
            service.check(certificate, issuer, AUTH, now)
        except JpkiValidationError as error:  # pragma: no cover - reported below
            errors.append(error)

    with server.misbehaving(ocsp="slow", kind="auth", delay=0.3):
        threads = [threading.Thread(target=run) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert (errors, transport.calls) == ([], 1)


def test_two_processes_sharing_the_store_make_one_request(
    state, server, cards, tmp_path, now, store
):
    """Two services with separate local locks stand for two IdP processes."""
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    transport = Counting()
    services = [_live(state, server, tmp_path, store=store, transport=transport) for _ in range(2)]
    issuer = state.ca(CertKind.AUTH).certificate
    with server.misbehaving(ocsp="slow", kind="auth", delay=0.3):
        threads = [
            threading.Thread(target=s.check, args=(certificate, issuer, AUTH, now))
            for s in services
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert transport.calls == 1
