"""The signing certificate's status is always asked afresh.

An address change revokes the signing certificate, so a cached *good* answer would attest a
stale address: for ``Purpose.IDENTITY`` the responder is asked every time and the OCSP cache is
neither read nor written. Under the CRL fallback only a CRL within its validity answers.
Each test issues its own card, so revoking it disturbs no other test.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from idp.jpki.errors import CertificateOnHold, CertificateRevoked, CrlUnavailable
from idp.jpki.settings import CertificateType
from idp.jpki.transport import HttpTransport
from idp.jpki.validator import Purpose
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from tests.jpki.conftest import build_stack

SIGN = CertificateType.SIGN


class Counting(HttpTransport):
    """The real HTTP transport, counting OCSP requests."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def post(self, url, body, content_type, timeout):
        with self._lock:
            self.calls += 1
        return super().post(url, body, content_type, timeout)


@pytest.fixture
def card(state):
    return state.issue_card(SAMPLE_CITIZENS[2], "1234", "SIGN1234")


@pytest.fixture
def counting(settings, store):
    transport = Counting()
    return transport, build_stack(settings, store, transport)


def _identity(stack, state, card, store, now):
    """What an identity proof does with the signing certificate (the signing half of the
    two-key answer, ``verify_pair_result``): the validator's checks for ``Purpose.IDENTITY``."""
    return stack.validator.validate(
        state.certificate(card.id, CertKind.SIGN), Purpose.IDENTITY, now
    )


def test_signing_certificate_status_is_asked_every_time(counting, state, card, store, now):
    transport, stack = counting
    first = _identity(stack, state, card, store, now)
    second = _identity(stack, state, card, store, now)
    assert (first.revocation.source, first.revocation.cached) == ("ocsp", False)
    assert second.revocation.cached is False
    assert transport.calls == 2


def test_authentication_certificate_still_uses_the_cache(counting, state, card, now):
    """The fresh rule is the signing certificate's: logins keep the shared cache."""
    transport, stack = counting
    certificate = state.certificate(card.id, CertKind.AUTH)
    issuer = state.ca(CertKind.AUTH).certificate
    kind = CertificateType.AUTH
    assert stack.validator.revocation.check(certificate, issuer, kind, now).cached is False
    assert stack.validator.revocation.check(certificate, issuer, kind, now).cached is True
    assert transport.calls == 1


def test_cached_good_answer_is_not_reused_after_an_address_change(
    counting, state, card, store, now
):
    transport, stack = counting
    certificate = state.certificate(card.id, CertKind.SIGN)
    issuer = state.ca(CertKind.SIGN).certificate
    answer, _ = stack.ocsp.check(certificate, issuer, SIGN, now)  # a good answer, now cached
    assert answer.status == "good"
    state.revoke(card.id, CertKind.SIGN, "affiliationChanged")  # the citizen moved
    assert stack.ocsp.check(certificate, issuer, SIGN, now)[1] is True  # still cached: stale
    with pytest.raises(CertificateRevoked) as refused:
        _identity(stack, state, card, store, now)
    assert refused.value.reason == "revoked"
    assert refused.value.revocation_reason == "affiliationChanged"
    assert refused.value.source == "ocsp"
    assert transport.calls == 2  # the first answer, then the identity check's own


def test_held_signing_certificate_is_refused(stack, state, card, store, now):
    _identity(stack, state, card, store, now)
    state.hold(card.id, CertKind.SIGN)  # reported lost
    with pytest.raises(CertificateOnHold) as refused:
        _identity(stack, state, card, store, now)
    assert refused.value.reason == "on_hold"


def test_fresh_answers_are_not_written_to_the_cache(counting, state, card, store, now):
    transport, stack = counting
    _identity(stack, state, card, store, now)
    certificate = state.certificate(card.id, CertKind.SIGN)
    issuer = state.ca(CertKind.SIGN).certificate
    assert stack.ocsp.check(certificate, issuer, SIGN, now)[1] is False  # nothing was cached
    assert transport.calls == 2


def test_crl_fallback_refuses_a_revoked_signing_certificate(stack, server, state, card, store, now):
    stack.updater.refresh(SIGN, now)
    _identity(stack, state, card, store, now)
    state.revoke(card.id, CertKind.SIGN, "keyCompromise")
    stack.updater.refresh(SIGN, now + dt.timedelta(seconds=1))
    with server.misbehaving(ocsp="down", kind="sign"), pytest.raises(CertificateRevoked) as no:
        _identity(stack, state, card, store, now + dt.timedelta(seconds=1))
    assert no.value.source == "crl"


def test_crl_fallback_refuses_a_crl_past_its_next_update(stack, server, state, card, store, now):
    stack.updater.refresh(SIGN, now)
    next_update = stack.updater.source(SIGN).next_update()
    assert next_update is not None
    later = next_update + dt.timedelta(minutes=1)
    with server.misbehaving(ocsp="down", kind="sign"), pytest.raises(CrlUnavailable) as no:
        _identity(stack, state, card, store, later)
    assert no.value.reason == "crl_unavailable"
