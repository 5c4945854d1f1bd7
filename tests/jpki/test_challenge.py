"""Challenges: random, short-lived, single use, bound to a transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from idp.jpki.challenge import Challenges, decode
from idp.jpki.errors import ChallengeExpired, ChallengeMismatch, ChallengeReplayed, Malformed


def test_challenge_is_32_random_bytes_in_base64url(store, now):
    challenges = Challenges(store)
    first, second = challenges.issue("t1", now), challenges.issue("t2", now)
    assert len(decode(first)) == 32
    assert first != second
    assert len(first) == 43


def test_challenge_is_consumed_once(store, now):
    challenges = Challenges(store)
    issued = challenges.issue("t1", now)
    assert challenges.consume("t1", issued, now) == decode(issued)
    with pytest.raises(ChallengeReplayed) as refused:
        challenges.consume("t1", issued, now)
    assert refused.value.reason == "challenge_replayed"


def test_challenge_past_its_ttl_is_expired(store, now):
    challenges = Challenges(store, ttl=60)
    issued = challenges.issue("t1", now)
    with pytest.raises(ChallengeExpired) as refused:
        challenges.consume("t1", issued, now + dt.timedelta(seconds=61))
    assert refused.value.reason == "challenge_expired"
    with pytest.raises(ChallengeReplayed):  # and it is used up all the same
        challenges.consume("t1", issued, now)


def test_challenge_never_issued_is_expired(store, now):
    with pytest.raises(ChallengeExpired):
        Challenges(store).consume("nobody", "A" * 43, now)


def test_challenge_of_another_transaction_is_a_mismatch(store, now):
    challenges = Challenges(store)
    _mine, theirs = challenges.issue("t1", now), challenges.issue("t2", now)
    with pytest.raises(ChallengeMismatch):
        challenges.consume("t1", theirs, now)


def test_earlier_logins_challenge_presented_in_a_new_transaction_is_replayed(store, now):
    challenges = Challenges(store)
    old = challenges.issue("t1", now)
    challenges.consume("t1", old, now)
    challenges.issue("t2", now)
    with pytest.raises(ChallengeReplayed):
        challenges.consume("t2", old, now)


def test_reissuing_replaces_the_transactions_challenge(store, now):
    challenges = Challenges(store)
    first = challenges.issue("t1", now)
    second = challenges.issue("t1", now)
    with pytest.raises(ChallengeMismatch):
        challenges.consume("t1", first, now)
    del second


@pytest.mark.parametrize(
    "text", ["", "A" * 42, "A" * 44, "!" * 43, "A" * 42 + "B", None, 5, "é" * 43]
)
def test_malformed_echo_is_malformed(text, now):
    from idp.storage.ephemeral import MemoryStore

    with pytest.raises(Malformed):
        Challenges(MemoryStore()).consume("t1", text, now)
