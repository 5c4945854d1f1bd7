"""Bound challenges (consent step-up): the value the card signs is
SHA-256("jpki-idp consent v1" ‖ nonce ‖ content digest), issued, stored, expired and consumed
exactly like a random challenge, and a signature over it proves that content and no other."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from idp.jpki.challenge import (
    CONSENT_CONTEXT,
    Challenges,
    bound_value,
    decode,
    encode,
)
from idp.jpki.errors import BadSignature, ChallengeExpired, ChallengeMismatch, ChallengeReplayed
from idp.jpki.validator import Purpose
from sandbox.profiles import CertKind
from tests.jpki.conftest import ORIGIN, bridge_result, pair_result

DIGEST = hashlib.sha256(b'{"items":["openid","selfinfo:income"]}').digest()
OTHER_DIGEST = hashlib.sha256(b'{"items":["openid","selfinfo:household"]}').digest()


@pytest.fixture
def challenges(store):
    return Challenges(store)


def test_the_bound_value_is_the_documented_hash():
    nonce = bytes(range(32))
    expected = hashlib.sha256(b"jpki-idp consent v1" + nonce + DIGEST).digest()
    assert CONSENT_CONTEXT == b"jpki-idp consent v1"
    assert bound_value(nonce, DIGEST) == expected


def test_the_bound_value_changes_with_the_nonce_and_with_the_content():
    nonce = bytes(32)
    assert bound_value(nonce, DIGEST) != bound_value(nonce, OTHER_DIGEST)
    assert bound_value(nonce, DIGEST) != bound_value(b"\x01" + bytes(31), DIGEST)


@pytest.mark.parametrize(("nonce", "digest"), [(bytes(31), DIGEST), (bytes(32), DIGEST[:31])])
def test_a_nonce_or_digest_of_the_wrong_size_is_refused(nonce, digest):
    with pytest.raises(ValueError, match="32-byte"):
        bound_value(nonce, digest)


def test_issue_bound_stores_the_bound_value_with_a_fresh_nonce(challenges, now):
    first, nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    assert len(nonce) == 32
    assert decode(first) == bound_value(nonce, DIGEST)
    second, other_nonce = challenges.issue_bound("consent:t2", DIGEST, now)
    assert other_nonce != nonce  # the same content never gives the same challenge twice
    assert second != first
    assert challenges.consume("consent:t1", first, now) == bound_value(nonce, DIGEST)


def test_a_bound_challenge_is_single_use(challenges, now):
    issued, _nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    challenges.consume("consent:t1", issued, now)
    with pytest.raises(ChallengeReplayed):
        challenges.consume("consent:t1", issued, now)


def test_a_bound_challenge_expires_like_any_other(store, now):
    challenges = Challenges(store, ttl=60)
    issued, _nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    with pytest.raises(ChallengeExpired):
        challenges.consume("consent:t1", issued, now + dt.timedelta(seconds=61))


def test_a_new_bound_challenge_replaces_the_earlier_one(challenges, now):
    old, _ = challenges.issue_bound("consent:t1", DIGEST, now)
    new, _ = challenges.issue_bound("consent:t1", OTHER_DIGEST, now)
    with pytest.raises(ChallengeMismatch):
        challenges.consume("consent:t1", old, now)
    with pytest.raises(ChallengeReplayed):  # the mismatch used the new one up as well
        challenges.consume("consent:t1", new, now)


def test_issue_value_stores_exactly_the_callers_bytes(challenges, now):
    raw = hashlib.sha256(b"caller's value").digest()
    assert challenges.issue_value("t1", raw, now) == encode(raw)
    assert challenges.consume("t1", encode(raw), now) == raw


@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33), "A" * 32])
def test_issue_value_refuses_anything_but_32_bytes(challenges, now, raw):
    with pytest.raises(ValueError, match="32 bytes"):
        challenges.issue_value("t1", raw, now)


def test_the_random_issue_is_unchanged(challenges, now):
    issued = challenges.issue("t1", now)
    assert len(decode(issued)) == 32
    assert challenges.consume("t1", issued, now) == decode(issued)


def _verify(stack, challenges, result, now, purpose=Purpose.LOGIN):
    return stack.validator.verify_bridge_result(
        json.dumps(result), purpose=purpose, transaction="consent:t1", origin=ORIGIN,
        challenges=challenges, now=now,
    )  # fmt: skip


def test_a_card_signature_over_the_bound_challenge_verifies(stack, state, cards, challenges, now):
    issued, nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    result = bridge_result(certificate, state.private_key(cards.good.id, CertKind.AUTH), issued)
    validated = _verify(stack, challenges, result, now)
    assert validated.certificate == certificate
    assert decode(result["challenge"]) == bound_value(nonce, DIGEST)


def test_a_signature_over_a_value_bound_to_other_content_is_refused(
    stack, state, cards, challenges, now
):
    """The card signed a value made for other content; echoing ours does not help."""
    issued, nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    key = state.private_key(cards.good.id, CertKind.AUTH)
    elsewhere = encode(bound_value(nonce, OTHER_DIGEST))
    signed_elsewhere = bridge_result(
        state.certificate(cards.good.id, CertKind.AUTH), key, elsewhere
    )
    forged = {**signed_elsewhere, "challenge": issued}
    with pytest.raises(BadSignature):
        _verify(stack, challenges, forged, now)


def test_the_signing_key_answers_a_bound_challenge_for_identity(
    stack, state, cards, challenges, now
):
    issued, _nonce = challenges.issue_bound("consent:t1", DIGEST, now)
    result = pair_result(state, cards.good, issued)
    pair = stack.validator.verify_pair_result(
        json.dumps(result), transaction="consent:t1", origin=ORIGIN, challenges=challenges,
        now=now,
    )  # fmt: skip
    assert pair.signing.facts is not None
