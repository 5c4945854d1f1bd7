"""The signed value and request fields of docs/bridge-protocol.md, checked independently."""

from __future__ import annotations

import base64
import hashlib

import pytest

from client_bridge import errors, protocol

ORIGIN = "https://idp.example.jp"
CHALLENGE = bytes(range(32))


def test_signed_value_is_the_two_hashes_concatenated() -> None:
    expected = hashlib.sha256(ORIGIN.encode()).digest() + hashlib.sha256(CHALLENGE).digest()
    assert protocol.signed_value(ORIGIN, CHALLENGE) == expected


def test_digest_info_is_51_bytes_of_sha256_over_the_signed_value() -> None:
    digest_info = protocol.digest_info(ORIGIN, CHALLENGE)
    assert len(digest_info) == 51
    assert digest_info[-32:] == hashlib.sha256(protocol.signed_value(ORIGIN, CHALLENGE)).digest()
    assert digest_info.startswith(bytes.fromhex("3031300d060960864801650304020105000420"))


def test_another_origin_gives_another_value() -> None:
    assert protocol.digest_info(ORIGIN, CHALLENGE) != protocol.digest_info(
        "https://idp.example.jp.evil.example", CHALLENGE
    )


def test_challenge_is_base64url_of_32_to_64_bytes() -> None:
    text = base64.urlsafe_b64encode(CHALLENGE).rstrip(b"=").decode()
    assert protocol.parse_challenge(text) == CHALLENGE


@pytest.mark.parametrize(
    "challenge",
    [None, 5, "", "AAAA", "A" * 100, base64.b64encode(bytes(range(250, 256)) * 6).decode(), "!!!!"],
)
def test_a_bad_challenge_is_a_bad_request(challenge: object) -> None:
    with pytest.raises(errors.BadRequest):
        protocol.parse_challenge(challenge)


@pytest.mark.parametrize("service", [None, "", "   ", "x" * 81, "bank\nsecond line"])
def test_a_bad_service_name_is_a_bad_request(service: object) -> None:
    with pytest.raises(errors.BadRequest):
        protocol.parse_service(service)


def test_the_test_vector_of_bridge_protocol_md() -> None:
    """docs/bridge-protocol.md §4, the same vector tests/jpki pins on the IdP side."""
    challenge = protocol.parse_challenge("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
    assert challenge == bytes(range(32))
    value = protocol.signed_value("https://idp.example.jp", challenge)
    assert value.hex() == (
        "d77bb38b8d29c334e0f810d60eddd7a447a418aaf2c34c92b425fe53d2efdf6e"
        "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    )
    assert protocol.digest_info("https://idp.example.jp", challenge).hex() == (
        "3031300d060960864801650304020105000420"
        "9341882886ad95b9a0bf3130f94e4f8afee4e9f59229c8410839b8bf5ddbec54"
    )
