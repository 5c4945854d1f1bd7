"""The validator end to end: bridge result → challenge → profile → path → revocation → signature."""

from __future__ import annotations

import json

import pytest

from idp.jpki.challenge import Challenges
from idp.jpki.errors import (
    BadSignature,
    CertificateExpired,
    CertificateOnHold,
    CertificateRevoked,
    ChallengeExpired,
    ChallengeReplayed,
    Malformed,
    OriginMismatch,
    PathInvalid,
    WrongCertificateType,
)
from idp.jpki.settings import RevocationPolicy
from idp.jpki.validator import Purpose
from sandbox import pki
from sandbox.profiles import CertKind
from tests.jpki.conftest import ORIGIN, bridge_result, pair_result


def _login(stack, challenges, result, now, purpose=Purpose.LOGIN, transaction="t1"):
    return stack.validator.verify_bridge_result(
        json.dumps(result), purpose=purpose, transaction=transaction, origin=ORIGIN,
        challenges=challenges, now=now,
    )  # fmt: skip


@pytest.fixture
def challenges(store):
    return Challenges(store)


def _card(state, card, kind=CertKind.AUTH):
    return state.certificate(card.id, kind), state.private_key(card.id, kind)


def test_good_card_logs_in_with_ocsp_status_recorded(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.good)
    result = bridge_result(certificate, key, challenges.issue("t1", now))
    validated = _login(stack, challenges, result, now)
    assert validated.serial == f"{certificate.serial_number:X}"
    assert validated.revocation.source == "ocsp"
    assert validated.facts is None


def _identify(stack, challenges, result, now, transaction="t1"):
    return stack.validator.verify_pair_result(
        json.dumps(result), transaction=transaction, origin=ORIGIN, challenges=challenges,
        now=now,
    )  # fmt: skip


def test_identity_check_reads_the_basic_four_facts(stack, state, cards, challenges, now):
    result = pair_result(state, cards.good, challenges.issue("t1", now))
    validated = _identify(stack, challenges, result, now).signing
    assert validated.facts is not None
    assert validated.facts.name.endswith("一郎")


def test_identity_is_never_proven_with_one_key(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.good, CertKind.SIGN)
    result = bridge_result(certificate, key, challenges.issue("t1", now), purpose="identity")
    with pytest.raises(ValueError, match="verify_pair_result"):
        _login(stack, challenges, result, now, purpose=Purpose.IDENTITY)


def test_replayed_result_is_challenge_replayed(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.good)
    result = bridge_result(certificate, key, challenges.issue("t1", now))
    _login(stack, challenges, result, now)
    with pytest.raises(ChallengeReplayed):
        _login(stack, challenges, result, now)


def test_result_without_an_issued_challenge_is_challenge_expired(
    stack, state, cards, challenges, now
):
    certificate, key = _card(state, cards.good)
    with pytest.raises(ChallengeExpired):
        _login(stack, challenges, bridge_result(certificate, key, "A" * 43), now)


def test_signature_for_a_phishing_origin_is_origin_mismatch(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.good)
    result = bridge_result(certificate, key, challenges.issue("t1", now),
                           origin="https://idp.example.jp.evil.example")  # fmt: skip
    with pytest.raises(OriginMismatch) as refused:
        _login(stack, challenges, result, now)
    assert refused.value.reason == "origin_mismatch"


def test_client_claiming_our_origin_over_another_signature_is_bad_signature(
    stack, state, cards, challenges, now
):
    """The echo says our origin, but the card signed another: we verify with our own."""
    certificate, key = _card(state, cards.good)
    result = bridge_result(
        certificate, key, challenges.issue("t1", now), signed_origin="https://evil.example"
    )
    with pytest.raises(BadSignature):
        _login(stack, challenges, result, now)


def test_signing_certificate_for_login_is_wrong_certificate_type(
    stack, state, cards, challenges, now
):
    certificate, key = _card(state, cards.good, CertKind.SIGN)
    with pytest.raises(WrongCertificateType):
        _login(stack, challenges, bridge_result(certificate, key, challenges.issue("t1", now)), now)


def test_revoked_card_is_revoked(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.revoked)
    with pytest.raises(CertificateRevoked):
        _login(stack, challenges, bridge_result(certificate, key, challenges.issue("t1", now)), now)


def test_held_card_is_on_hold(stack, state, cards, challenges, now):
    """The revoked card's signing certificate is on hold (its authentication key is not
    used here: the good card's stands beside it)."""
    result = pair_result(state, cards.good, challenges.issue("t1", now), signer=cards.revoked)
    with pytest.raises(CertificateOnHold):
        _identify(stack, challenges, result, now)


def test_expired_card_is_expired(stack, state, auth_ca, card_key, challenges, now):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=now, expired=True)
    with pytest.raises(CertificateExpired):
        _login(
            stack,
            challenges,
            bridge_result(certificate, card_key, challenges.issue("t1", now)),
            now,
        )


def test_forged_ca_card_is_untrusted_issuer(stack, foreign_ca, card_key, challenges, now):
    certificate = pki.make_auth_certificate(foreign_ca, card_key.public_key(), now=now)
    with pytest.raises(PathInvalid) as refused:
        _login(
            stack,
            challenges,
            bridge_result(certificate, card_key, challenges.issue("t1", now)),
            now,
        )
    assert refused.value.reason == "untrusted_issuer"


@pytest.mark.parametrize("change", [{"version": 2}, {"algorithm": "PS256"}, {"certificate": "!!"},
                                    {"purpose": "other"}, {"extra": 1}])  # fmt: skip
def test_malformed_result_is_malformed(stack, state, cards, challenges, now, change):
    certificate, key = _card(state, cards.good)
    result = {**bridge_result(certificate, key, challenges.issue("t1", now)), **change}
    with pytest.raises(Malformed):
        _login(stack, challenges, result, now)


def test_malformed_result_still_uses_up_the_challenge(stack, state, cards, challenges, now):
    certificate, key = _card(state, cards.good)
    result = bridge_result(certificate, key, challenges.issue("t1", now))
    with pytest.raises(Malformed):
        _login(stack, challenges, {**result, "version": 9}, now)
    with pytest.raises(ChallengeExpired):
        _login(stack, challenges, result, now)


def test_crl_policy_answers_from_the_crl(stack, state, cards, now):
    for kind in stack.settings.crl_urls:
        stack.updater.refresh(kind, now)
    certificate, _ = _card(state, cards.good)
    validated = stack.validator.validate(
        certificate, Purpose.LOGIN, now, revocation_policy=RevocationPolicy.CRL
    )
    status = validated.revocation
    assert status.source == "crl"
    assert status.responder.startswith("CRL #")


def test_ocsp_down_falls_back_to_the_crl_and_says_why(stack, state, server, cards, now):
    for kind in stack.settings.crl_urls:
        stack.updater.refresh(kind, now)
    certificate, _ = _card(state, cards.good)
    with server.misbehaving(ocsp="down"):
        status = stack.validator.validate(certificate, Purpose.LOGIN, now).revocation
    assert (status.source, status.fallback_reason) == ("crl", "responder_unavailable")


def test_ocsp_bad_signature_does_not_fall_back(stack, state, server, cards, now):
    from idp.jpki.errors import ResponseBadSignature

    for kind in stack.settings.crl_urls:
        stack.updater.refresh(kind, now)
    certificate, _ = _card(state, cards.good)
    with server.misbehaving(ocsp="wrong_key"), pytest.raises(ResponseBadSignature):
        stack.validator.validate(certificate, Purpose.LOGIN, now)


def test_ocsp_down_and_no_crl_fails_closed_naming_both(stack, state, server, cards, now):
    """The OCSP failure fetches the CRL first: with its server down too, no CRL is held."""
    from idp.jpki.errors import CrlUnavailable

    certificate, _ = _card(state, cards.good)
    down = server.misbehaving(ocsp="down", crl="down")
    with down, pytest.raises(CrlUnavailable) as refused:
        stack.validator.validate(certificate, Purpose.LOGIN, now)
    assert "responder_unavailable" in refused.value.detail
