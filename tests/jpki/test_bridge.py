"""The bridge's result (docs/bridge-protocol.md §5), including one made by client_bridge itself."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from idp.jpki.bridge import BridgeResult
from idp.jpki.challenge import Challenges, decode
from idp.jpki.errors import Malformed
from idp.jpki.validator import Purpose
from sandbox.profiles import CertKind
from tests.jpki.conftest import ORIGIN, bridge_result


def test_valid_result_parses_to_its_bytes(state, cards, now, store):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    key = state.private_key(cards.good.id, CertKind.AUTH)
    challenge = Challenges(store).issue("t", now)
    parsed = BridgeResult.parse(json.dumps(bridge_result(certificate, key, challenge)))
    assert parsed.certificate == certificate.public_bytes(serialization.Encoding.DER)
    assert (len(parsed.signature), parsed.purpose, parsed.origin) == (256, "login", ORIGIN)


@pytest.mark.parametrize(
    "change",
    [{"signature": "AAAA="}, {"signature": "AAAAA"}, {"certificate": ""}, {"version": True},
     {"version": "1"}, {"format": "other"}, {"origin": 5}, {"challenge": "short"}],
)  # fmt: skip
def test_each_bent_field_is_malformed(state, cards, now, store, change):
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    key = state.private_key(cards.good.id, CertKind.AUTH)
    result = {**bridge_result(certificate, key, Challenges(store).issue("t", now)), **change}
    with pytest.raises(Malformed):
        BridgeResult.parse(result)


@pytest.mark.parametrize("data", [b"", b"[]", b"{", b"null", b"x" * 20_000, "{}"])
def test_non_object_or_oversized_body_is_malformed(data):
    with pytest.raises(Malformed):
        BridgeResult.parse(data)


def test_result_built_by_client_bridge_verifies_at_the_idp(stack, state, cards, now, store):
    """Interoperability: the bridge's own protocol module and our verifier agree byte for byte."""
    protocol = pytest.importorskip("client_bridge.protocol")
    challenges = Challenges(store)
    challenge = challenges.issue("t", now)
    certificate = state.certificate(cards.good.id, CertKind.AUTH)
    key = state.private_key(cards.good.id, CertKind.AUTH)
    card_input = protocol.digest_info(ORIGIN, decode(challenge))
    # The card pads the DigestInfo (PKCS#1 v1.5 type 1); "sign the prehashed digest" is the same.
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    signature = key.sign(card_input[-32:], padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    result = protocol.SignatureResult(
        "login", ORIGIN, decode(challenge),
        certificate.public_bytes(serialization.Encoding.DER), signature,
    ).to_json()  # fmt: skip
    validated = stack.validator.verify_bridge_result(
        json.dumps(result), purpose=Purpose.LOGIN, transaction="t", origin=ORIGIN,
        challenges=challenges, now=now,
    )  # fmt: skip
    assert validated.certificate == certificate
