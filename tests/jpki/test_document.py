"""Document signatures (bridge-protocol.md §8) at the IdP: echoes, certificate, signature.

The signing certificate goes through the same validator as for ``identity`` (profile, path,
OCSP at the sandbox responder); only the signature is over DigestInfo(SHA-256, digest).
"""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki.challenge import Challenges
from idp.jpki.document import (
    DocumentResult,
    fingerprint,
    verify_document_pair,
    verify_document_result,
)
from idp.jpki.errors import (
    BadSignature,
    BridgeOutdated,
    CertificateOnHold,
    CertificateRevoked,
    DigestMismatch,
    Malformed,
    OriginMismatch,
    WrongCertificateType,
)
from idp.jpki.signature import signed_value
from idp.jpki.validator import Purpose
from sandbox.profiles import CertKind
from tests.jpki.conftest import ORIGIN, b64url, bridge_result, pair_result

DIGEST = hashlib.sha256(b"signedAttrs of the reviewed contract").digest()
OTHER = hashlib.sha256(b"signedAttrs of another contract").digest()


def card_sign(key, digest: bytes) -> bytes:
    """What the card does with DigestInfo(SHA-256, digest): PKCS#1 v1.5 type 1 padding."""
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def document_result(certificate, key, *, digest: bytes = DIGEST, signed: bytes | None = None,
                    origin: str = ORIGIN, **changes) -> dict:  # fmt: skip
    result = {
        "version": 1, "purpose": "document", "origin": origin, "digest": b64url(digest),
        "certificate": b64url(certificate.public_bytes(serialization.Encoding.DER)),
        "signature": b64url(card_sign(key, signed or digest)),
        "algorithm": "RS256", "format": "jpki-sha256-digest-v1",
    }  # fmt: skip
    result.update(changes)
    return result


def _card(state, card, kind=CertKind.SIGN):
    return state.certificate(card.id, kind), state.private_key(card.id, kind)


def _verify(stack, result, now, digest=DIGEST):
    return verify_document_result(
        stack.validator, json.dumps(result), origin=ORIGIN, digest=digest, now=now
    )


def test_a_document_signature_with_the_signing_certificate_is_accepted(stack, state, cards, now):
    certificate, key = _card(state, cards.good)
    validated = _verify(stack, document_result(certificate, key), now)
    assert validated.serial == f"{certificate.serial_number:X}"
    assert validated.revocation.source == "ocsp"
    assert validated.facts is not None  # the signer's name is there for the contract


def test_a_signature_of_another_digest_is_digest_mismatch(stack, state, cards, now):
    certificate, key = _card(state, cards.good)
    with pytest.raises(DigestMismatch) as refused:
        _verify(stack, document_result(certificate, key, digest=OTHER), now)
    assert refused.value.reason == "digest_mismatch"


def test_a_signature_for_another_origin_is_origin_mismatch(stack, state, cards, now):
    certificate, key = _card(state, cards.good)
    result = document_result(certificate, key, origin="https://evil.example")
    with pytest.raises(OriginMismatch):
        _verify(stack, result, now)


def test_the_authentication_certificate_is_wrong_certificate_type(stack, state, cards, now):
    certificate, key = _card(state, cards.good, CertKind.AUTH)
    with pytest.raises(WrongCertificateType) as refused:
        _verify(stack, document_result(certificate, key), now)
    assert refused.value.reason == "wrong_certificate_type"


def test_an_echo_of_our_digest_over_another_signature_is_bad_signature(stack, state, cards, now):
    """The echo claims our digest, but the card signed another: we verify with our own."""
    certificate, key = _card(state, cards.good)
    with pytest.raises(BadSignature):
        _verify(stack, document_result(certificate, key, signed=OTHER), now)


def test_a_signature_by_another_key_is_bad_signature(stack, state, cards, now):
    certificate, _ = _card(state, cards.good)
    _, stranger = _card(state, cards.revoked)
    with pytest.raises(BadSignature):
        _verify(stack, document_result(certificate, stranger), now)


def test_a_signing_certificate_on_hold_is_refused(stack, state, cards, now):
    certificate, key = _card(state, cards.revoked)  # its signing certificate is on hold
    with pytest.raises(CertificateOnHold):
        _verify(stack, document_result(certificate, key), now)


@pytest.mark.parametrize(
    "change",
    [{"purpose": "identity"}, {"purpose": "login"}, {"format": "jpki-origin-challenge-v1"},
     {"algorithm": "PS256"}, {"version": True}, {"version": 2}, {"origin": 5},
     {"digest": b64url(DIGEST[:31])}, {"digest": b64url(DIGEST + b"\0")},
     {"digest": b64url(DIGEST) + "="}, {"digest": None}, {"signature": ""},
     {"certificate": "!!"}, {"challenge": "A" * 43}],
)  # fmt: skip
def test_each_bent_field_is_malformed(stack, state, cards, now, change):
    certificate, key = _card(state, cards.good)
    with pytest.raises(Malformed):
        _verify(stack, {**document_result(certificate, key), **change}, now)


@pytest.mark.parametrize("missing", ["digest", "origin", "signature", "format"])
def test_a_missing_member_is_malformed(state, cards, missing):
    result = document_result(*_card(state, cards.good))
    del result[missing]
    with pytest.raises(Malformed):
        DocumentResult.parse(result)


def test_a_document_result_is_never_a_login_or_identity_proof(stack, state, cards, now, store):
    """The result shapes do not mix: each verifier refuses the other's as malformed."""
    certificate, key = _card(state, cards.good)
    challenges = Challenges(store)
    with pytest.raises(Malformed):
        stack.validator.verify_bridge_result(
            document_result(certificate, key), purpose=Purpose.LOGIN, transaction="t",
            origin=ORIGIN, challenges=challenges, now=now,
        )  # fmt: skip
    with pytest.raises(Malformed):
        stack.validator.verify_pair_result(
            document_pair(state, cards.good), transaction="t", origin=ORIGIN,
            challenges=challenges, now=now,
        )  # fmt: skip
    identity = pair_result(state, cards.good, challenges.issue("t", now))
    with pytest.raises(Malformed):
        _verify_pair(stack, identity, now)
    identity = bridge_result(certificate, key, challenges.issue("t", now), purpose="identity")
    with pytest.raises(Malformed):
        _verify(stack, identity, now)


def test_the_fingerprint_matches_the_protocol_vector_and_the_bridge():
    digest = hashlib.sha256(b"abc").digest()
    assert fingerprint(digest) == "BA78-16BF-8F01-CFEA"
    protocol = pytest.importorskip("client_bridge.protocol")
    assert protocol.fingerprint(DIGEST) == fingerprint(DIGEST)


def test_a_result_built_by_client_bridge_verifies_at_the_idp(stack, state, cards, now):
    """Interoperability: the bridge's own card input and result object, byte for byte."""
    protocol = pytest.importorskip("client_bridge.protocol")
    certificate, key = _card(state, cards.good)
    card_input = protocol.sha256_digest_info(DIGEST)
    assert card_input == bytes.fromhex("3031300d060960864801650304020105000420") + DIGEST
    signature = card_sign(key, card_input[-32:])
    der = certificate.public_bytes(serialization.Encoding.DER)
    result = protocol.DocumentSignatureResult(ORIGIN, DIGEST, der, signature).to_json()
    assert _verify(stack, result, now).facts is not None


# --- version 2: the same card's authentication key beside the signing key (§9) --------------


def document_pair(state, card, *, signer=None, digest: bytes = DIGEST,
                  auth_signed: bytes | None = None, origin: str = ORIGIN,
                  **changes) -> dict:  # fmt: skip
    """The two-key ``document`` answer: ``signer``'s (default ``card``'s) signing key over the
    digest, ``card``'s authentication key over SHA-256(origin) ‖ SHA-256(``auth_signed`` or
    the digest)."""
    sign_certificate, sign_key = _card(state, signer or card)
    auth_certificate, auth_key = _card(state, card, CertKind.AUTH)
    bound = hashlib.sha256(signed_value(origin, auth_signed or digest)).digest()
    result = {
        **document_result(sign_certificate, sign_key, digest=digest, origin=origin),
        "version": 2, "format": "jpki-sha256-digest-pair-v2",
        "authentication_certificate": b64url(
            auth_certificate.public_bytes(serialization.Encoding.DER)
        ),
        "authentication_signature": b64url(card_sign(auth_key, bound)),
    }  # fmt: skip
    result.update(changes)
    return {k: v for k, v in result.items() if v is not None}


def _verify_pair(stack, result, now, digest=DIGEST):
    return verify_document_pair(
        stack.validator, json.dumps(result), origin=ORIGIN, digest=digest, now=now
    )


def test_a_document_pair_proves_both_certificates_of_one_card(stack, state, cards, now):
    pair = _verify_pair(stack, document_pair(state, cards.good), now)
    auth = state.certificate(cards.good.id, CertKind.AUTH)
    sign = state.certificate(cards.good.id, CertKind.SIGN)
    assert pair.authentication.serial == f"{auth.serial_number:X}"
    assert pair.signing.serial == f"{sign.serial_number:X}"
    assert pair.signing.facts is not None


def test_a_one_key_document_answer_is_bridge_outdated(stack, state, cards, now):
    with pytest.raises(BridgeOutdated) as refused:
        _verify_pair(stack, document_result(*_card(state, cards.good)), now)
    assert refused.value.reason == "bridge_outdated"
    assert refused.value.as_dict()["status"] == "bridge_outdated"  # the JSON error code


def test_an_authentication_signature_over_another_digest_is_bad_signature(stack, state, cards,
                                                                          now):  # fmt: skip
    """A pair put together from two answers: the authentication half signed for another
    request."""
    with pytest.raises(BadSignature):
        _verify_pair(stack, document_pair(state, cards.good, auth_signed=OTHER), now)


def test_a_signing_certificate_in_the_authentication_slot_is_refused(stack, state, cards, now):
    result = document_pair(state, cards.good)
    result["authentication_certificate"] = result["certificate"]
    with pytest.raises(WrongCertificateType):
        _verify_pair(stack, result, now)


def test_a_revoked_authentication_certificate_is_refused(stack, state, cards, now):
    """The revoked card's authentication certificate beside a good signing key."""
    with pytest.raises(CertificateRevoked):
        _verify_pair(stack, document_pair(state, cards.revoked, signer=cards.good), now)


@pytest.mark.parametrize(
    "change",
    [{"authentication_signature": None}, {"authentication_certificate": "!!"},
     {"format": "jpki-sha256-digest-v1"}, {"version": 3}, {"purpose": {}}, {"purpose": []},
     {"challenge": "A" * 43}],
)  # fmt: skip
def test_each_bent_pair_field_is_malformed(stack, state, cards, now, change):
    with pytest.raises(Malformed):
        _verify_pair(stack, {**document_pair(state, cards.good), **change}, now)
