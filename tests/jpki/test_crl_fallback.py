"""Under ocsp,crl the CRL answers for a failed OCSP exchange only if it was fetched within
crl_fallback_max_age; an older one is fetched again first (once for every waiting check), and
failing that the check fails closed as crl_too_old.

Before, the fallback took the CRL held since the last download, refreshed only an hour before
its nextUpdate: a card revoked after that download logged in for up to a day while OCSP was down.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from idp.jpki.errors import CertificateRevoked, CrlTooOld, CrlUnavailable, JpkiValidationError
from idp.jpki.settings import CertificateType, RevocationPolicy
from idp.jpki.transport import HttpTransport
from idp.jpki.validator import Purpose
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from tests.jpki.conftest import build_stack, make_settings

AUTH = CertificateType.AUTH
MINUTE = dt.timedelta(minutes=1)


class CountingDownloads(HttpTransport):
    def __init__(self) -> None:
        self.downloads = 0
        self._lock = threading.Lock()

    def download(self, url, sink, timeout, max_bytes):
        with self._lock:
            self.downloads += 1
        return super().download(url, sink, timeout, max_bytes)


@pytest.fixture
def card(state):
    return state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")


def _login(stack, state, card, now):
    certificate = state.certificate(card.id, CertKind.AUTH)
    return stack.validator.validate(certificate, Purpose.LOGIN, now).revocation


def test_a_crl_fetched_within_the_max_age_answers(stack, server, state, card, now):
    assert stack.settings.crl_fallback_max_age == 900
    stack.updater.refresh(AUTH, now)
    with server.misbehaving(ocsp="down", crl="down"):
        status = _login(stack, state, card, now + 14 * MINUTE)
    assert (status.source, status.fallback_reason) == ("crl", "responder_unavailable")


def test_an_older_crl_that_cannot_be_fetched_again_fails_closed(stack, server, state, card, now):
    stack.updater.refresh(AUTH, now)
    with (
        server.misbehaving(ocsp="down", crl="down"),
        pytest.raises(CrlTooOld) as refused,
    ):
        _login(stack, state, card, now + 16 * MINUTE)
    assert (refused.value.reason, refused.value.source) == ("crl_too_old", "crl")
    assert isinstance(refused.value, CrlUnavailable)  # the citizen's "service unavailable" page
    assert "responder_unavailable" in refused.value.detail
    assert now.isoformat() in refused.value.detail


def test_an_older_crl_is_fetched_again_and_refuses_a_card_revoked_since(
    stack, server, state, card, now
):
    stack.updater.refresh(AUTH, now)
    state.revoke(card.id, CertKind.AUTH, "keyCompromise")
    later = now + 20 * MINUTE
    with server.misbehaving(ocsp="down"), pytest.raises(CertificateRevoked) as refused:
        _login(stack, state, card, later)
    assert refused.value.source == "crl"
    assert refused.value.revocation_reason == "keyCompromise"


def test_a_card_listed_on_an_older_crl_is_refused_as_revoked(stack, server, state, card, now):
    state.revoke(card.id, CertKind.AUTH, "keyCompromise")
    stack.updater.refresh(AUTH, now)
    with server.misbehaving(ocsp="down", crl="down"), pytest.raises(CertificateRevoked):
        _login(stack, state, card, now + 40 * MINUTE)  # the sandbox's CRL lives an hour


def test_one_fetch_serves_every_waiting_check_of_every_process(
    state, server, card, tmp_path, now, store
):
    settings = make_settings(state, server, tmp_path, ocsp_timeout=5.0)
    transport = CountingDownloads()
    stacks = [build_stack(settings, store, transport) for _ in range(2)]
    stacks[0].updater.refresh(AUTH, now)
    assert transport.downloads == 2  # full and delta
    later = now + 30 * MINUTE
    outcomes: list[object] = []

    def run(stack) -> None:
        try:
            outcomes.append(_login(stack, state, card, later).source)
        except JpkiValidationError as error:
            outcomes.append(error.reason)

    with server.misbehaving(ocsp="down"):
        threads = [threading.Thread(target=run, args=(stacks[i % 2],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert outcomes == ["crl"] * 8
    assert transport.downloads == 4  # one more full and delta, not one per check


def test_a_slow_crl_fetch_is_waited_for_at_most_the_ocsp_timeout(
    state, server, card, tmp_path, now, store
):
    settings = make_settings(state, server, tmp_path, ocsp_timeout=0.5)
    stack = build_stack(settings, store)
    stack.updater.refresh(AUTH, now)
    later = now + 30 * MINUTE
    with server.misbehaving(ocsp="down"):
        with server.misbehaving(crl="slow", delay=2.0):
            started = time.monotonic()
            with pytest.raises(CrlTooOld):
                _login(stack, state, card, later)
            waited = time.monotonic() - started
            flight = stack.validator.revocation.fallback._flights[AUTH]
            flight.join(30)
        assert waited < 2.0  # it did not wait for the download
        assert _login(stack, state, card, later).source == "crl"  # the fetch it started


def test_the_crl_policy_is_not_bounded_by_the_fallback_age(stack, server, state, card, now):
    """Under crl alone the CRL is the source, valid until its nextUpdate (docs/jpki.md §3)."""
    stack.updater.refresh(AUTH, now)
    certificate = state.certificate(card.id, CertKind.AUTH)
    with server.misbehaving(crl="down"):
        status = stack.validator.validate(
            certificate, Purpose.LOGIN, now + 40 * MINUTE,
            revocation_policy=RevocationPolicy.CRL,
        ).revocation  # fmt: skip
    assert status.source == "crl"


def test_ocsp_answering_needs_no_recent_crl(stack, server, state, card, now):
    stack.updater.refresh(AUTH, now)
    with server.misbehaving(crl="down"):
        assert _login(stack, state, card, now + 30 * MINUTE).source == "ocsp"
