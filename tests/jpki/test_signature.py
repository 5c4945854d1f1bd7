"""The origin-bound signed value (docs/bridge-protocol.md §4)."""

from __future__ import annotations

import hashlib

import pytest

from idp.jpki.errors import BadSignature, Malformed
from idp.jpki.signature import canonical_origin, card_digest_info, signed_value, verify_signature
from sandbox import pki
from tests.jpki.conftest import card_sign

CHALLENGE = bytes(range(32))
ORIGIN = "https://idp.example.jp"


@pytest.fixture(scope="module")
def certificate(auth_ca, card_key):
    return pki.make_auth_certificate(auth_ca, card_key.public_key())


def test_signed_value_is_two_sha256_hashes():
    expected = hashlib.sha256(ORIGIN.encode()).digest() + hashlib.sha256(CHALLENGE).digest()
    assert signed_value(ORIGIN, CHALLENGE) == expected


def test_card_digest_info_is_the_51_byte_sha256_digest_info():
    info = card_digest_info(ORIGIN, CHALLENGE)
    assert len(info) == 51
    assert info.startswith(bytes.fromhex("3031300d0609608648016503040201"))
    assert info[-32:] == hashlib.sha256(signed_value(ORIGIN, CHALLENGE)).digest()


def test_card_signature_over_our_origin_and_challenge_verifies(certificate, card_key):
    verify_signature(certificate, card_sign(card_key, ORIGIN, CHALLENGE), ORIGIN, CHALLENGE)


def test_signature_for_another_origin_is_bad_signature(certificate, card_key):
    signature = card_sign(card_key, "https://evil.example", CHALLENGE)
    with pytest.raises(BadSignature) as refused:
        verify_signature(certificate, signature, ORIGIN, CHALLENGE)
    assert refused.value.reason == "bad_signature"


def test_signature_over_another_challenge_is_bad_signature(certificate, card_key):
    with pytest.raises(BadSignature):
        verify_signature(certificate, card_sign(card_key, ORIGIN, bytes(32)), ORIGIN, CHALLENGE)


def test_signature_by_another_key_is_bad_signature(certificate):
    with pytest.raises(BadSignature):
        verify_signature(
            certificate, card_sign(pki.new_key(), ORIGIN, CHALLENGE), ORIGIN, CHALLENGE
        )


@pytest.mark.parametrize("signature", [b"", b"\x00" * 255, b"\x00" * 256, b"\xff" * 257])
def test_wrong_size_or_garbage_signature_is_bad_signature(certificate, signature):
    with pytest.raises(BadSignature):
        verify_signature(certificate, signature, ORIGIN, CHALLENGE)


@pytest.mark.parametrize(
    ("origin", "canonical"),
    [("https://IdP.Example.JP", "https://idp.example.jp"), ("https://idp.example.jp:443", ORIGIN),
     ("http://127.0.0.1:8000", "http://127.0.0.1:8000"), ("http://[::1]:80", "http://[::1]")],
)  # fmt: skip
def test_origin_is_canonicalised(origin, canonical):
    assert canonical_origin(origin) == canonical


NOT_ORIGINS = ["idp.example.jp", "ftp://x", "https://x/path", "https://u@x", "https://x?q",
               "https://", "https://x:99999", "https://例え.jp"]  # fmt: skip


@pytest.mark.parametrize("origin", NOT_ORIGINS)
def test_non_origin_is_malformed(origin):
    with pytest.raises(Malformed):
        canonical_origin(origin)


def test_protocol_test_vector():
    """docs/bridge-protocol.md §4: the bridge checks the same bytes."""
    assert signed_value(ORIGIN, CHALLENGE).hex() == (
        "d77bb38b8d29c334e0f810d60eddd7a447a418aaf2c34c92b425fe53d2efdf6e"
        "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    )
    assert card_digest_info(ORIGIN, CHALLENGE).hex() == (
        "3031300d060960864801650304020105000420"
        "9341882886ad95b9a0bf3130f94e4f8afee4e9f59229c8410839b8bf5ddbec54"
    )
