"""Identity proofs with both keys of one card (docs/bridge-protocol.md §9) at the JPKI core.

``verify_pair_result`` consumes the challenge first, whatever follows; checks each certificate
fully (profile, path, revocation) with its own signature over our origin and the stored
challenge; and refuses a one-key (version 1) answer as ``bridge_outdated``. Whose card the
authentication certificate is stays the caller's check (idp/consent/cardstep.py).
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki.bridge import PairResult
from idp.jpki.challenge import Challenges, decode
from idp.jpki.errors import (
    BadSignature,
    BridgeOutdated,
    ChallengeExpired,
    ChallengeReplayed,
    Malformed,
    OriginMismatch,
    WrongCertificateType,
)
from sandbox.profiles import CertKind
from tests.jpki.conftest import ORIGIN, bridge_result, pair_result


@pytest.fixture
def challenges(store):
    return Challenges(store)


def _identify(stack, challenges, result, now, transaction="t1"):
    return stack.validator.verify_pair_result(
        json.dumps(result), transaction=transaction, origin=ORIGIN, challenges=challenges,
        now=now,
    )  # fmt: skip


def test_both_keys_of_one_card_prove_the_identity(stack, state, cards, challenges, now):
    result = pair_result(state, cards.good, challenges.issue("t1", now))
    pair = _identify(stack, challenges, result, now)
    auth = state.certificate(cards.good.id, CertKind.AUTH)
    sign = state.certificate(cards.good.id, CertKind.SIGN)
    assert pair.authentication.serial == f"{auth.serial_number:X}"
    assert pair.signing.serial == f"{sign.serial_number:X}"
    assert pair.authentication.facts is None
    assert pair.signing.facts is not None
    with pytest.raises(ChallengeReplayed):
        _identify(stack, challenges, result, now)


def test_a_one_key_answer_is_bridge_outdated_and_uses_up_the_challenge(
    stack, state, cards, challenges, now
):
    issued = challenges.issue("t1", now)
    one_key = bridge_result(state.certificate(cards.good.id, CertKind.SIGN),
                            state.private_key(cards.good.id, CertKind.SIGN), issued,
                            purpose="identity")  # fmt: skip
    with pytest.raises(BridgeOutdated) as refused:
        _identify(stack, challenges, one_key, now)
    assert refused.value.reason == "bridge_outdated"
    with pytest.raises((ChallengeExpired, ChallengeReplayed)):
        _identify(stack, challenges, pair_result(state, cards.good, issued), now)


def test_a_pair_whose_halves_signed_different_challenges_is_refused(stack, state, cards,
                                                                    challenges, now):  # fmt: skip
    """The authentication half from an earlier step, the signing half from this one."""
    earlier = challenges.issue("t0", now)
    result = pair_result(state, cards.good, challenges.issue("t1", now), auth_challenge=earlier)
    with pytest.raises(BadSignature):
        _identify(stack, challenges, result, now)


def test_a_signing_half_over_another_challenge_is_refused(stack, state, cards, challenges, now):
    issued = challenges.issue("t1", now)
    other = pair_result(state, cards.good, challenges.issue("t0", now))
    result = {**pair_result(state, cards.good, issued), "signature": other["signature"]}
    with pytest.raises(BadSignature):
        _identify(stack, challenges, result, now)


def test_the_keys_in_the_wrong_slots_are_refused(stack, state, cards, challenges, now):
    result = pair_result(state, cards.good, challenges.issue("t1", now))
    swapped = {**result, "certificate": result["authentication_certificate"],
               "signature": result["authentication_signature"],
               "authentication_certificate": result["certificate"],
               "authentication_signature": result["signature"]}  # fmt: skip
    with pytest.raises(WrongCertificateType):
        _identify(stack, challenges, swapped, now)


def test_another_origin_is_origin_mismatch(stack, state, cards, challenges, now):
    result = pair_result(state, cards.good, challenges.issue("t1", now),
                         origin="https://idp.example.jp.evil.example")  # fmt: skip
    with pytest.raises(OriginMismatch):
        _identify(stack, challenges, result, now)


@pytest.mark.parametrize(
    "change",
    [{"authentication_signature": None}, {"authentication_certificate": None},
     {"authentication_certificate": "!!"}, {"format": "jpki-origin-challenge-v1"},
     {"version": 3}, {"version": True}, {"purpose": "login"}, {"purpose": {}}, {"purpose": []},
     {"digest": "A" * 43}],
)  # fmt: skip
def test_each_bent_field_is_malformed_and_uses_up_the_challenge(stack, state, cards, challenges,
                                                                now, change):  # fmt: skip
    issued = challenges.issue("t1", now)
    with pytest.raises(Malformed):
        _identify(stack, challenges, {**pair_result(state, cards.good, issued), **change}, now)
    with pytest.raises((ChallengeExpired, ChallengeReplayed)):
        _identify(stack, challenges, pair_result(state, cards.good, issued), now)


def test_a_pair_built_by_client_bridge_verifies_at_the_idp(stack, state, cards, challenges, now):
    """Interoperability: the bridge's own signed values and result object, byte for byte."""
    protocol = pytest.importorskip("client_bridge.protocol")
    issued = challenges.issue("t1", now)
    digest = protocol.digest_info(ORIGIN, decode(issued))[-32:]

    def signed(kind):
        key = state.private_key(cards.good.id, kind)
        der = state.certificate(cards.good.id, kind).public_bytes(serialization.Encoding.DER)
        return der, key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))

    auth, sign = signed(CertKind.AUTH), signed(CertKind.SIGN)
    result = protocol.PairResult("identity", ORIGIN, decode(issued), *auth, *sign).to_json()
    assert PairResult.parse(result).challenge == issued
    assert _identify(stack, challenges, result, now).signing.facts is not None
