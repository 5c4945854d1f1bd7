"""COMPUTE DIGITAL SIGNATURE: PKCS#1 v1.5 with the selected key, after its PIN (docs/jpki.md
§6.7)."""

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils

from sandbox.card.signing import MAX_DIGEST_INFO, emsa_pkcs1_v15, sign_digest_info
from sandbox.profiles import CertKind
from tests.sandbox.card.commands import (
    SHA256_PREFIX,
    data,
    digest_info,
    select_aid,
    select_ef,
    sign,
    sw,
    verify,
)

KEY_EF = {CertKind.AUTH: 0x0017, CertKind.SIGN: 0x001A}
PIN_EF = {CertKind.AUTH: 0x0018, CertKind.SIGN: 0x001B}
PIN = {CertKind.AUTH: "1234", CertKind.SIGN: "ABC123"}

# SHA-1 only because the card accepts every DigestInfo myna offers (docs/jpki.md §1).
DIGEST_INFO_PREFIXES = {
    "sha1": (hashes.SHA1(), bytes.fromhex("3021300906052b0e03021a05000414")),  # noqa: S303
    "sha256": (hashes.SHA256(), SHA256_PREFIX),
    "sha384": (hashes.SHA384(), bytes.fromhex("3041300d060960864801650304020205000430")),
    "sha512": (hashes.SHA512(), bytes.fromhex("3051300d060960864801650304020305000440")),
}


def ready_to_sign(card, kind):
    card.transmit(select_aid())
    card.transmit(select_ef(PIN_EF[kind]))
    assert sw(card.transmit(verify(PIN[kind]))) == "9000"
    card.transmit(select_ef(KEY_EF[kind]))
    return card


@pytest.mark.parametrize("kind", list(CertKind))
@pytest.mark.parametrize("algorithm", DIGEST_INFO_PREFIXES, ids=str)
def test_signature_verifies_with_the_certificate(card, state, card_id, kind, algorithm):
    hash_algorithm, prefix = DIGEST_INFO_PREFIXES[algorithm]
    digest = hashes.Hash(hash_algorithm)
    digest.update(b"origin and challenge")
    di = prefix + digest.finalize()
    response = ready_to_sign(card, kind).transmit(sign(di))
    assert sw(response) == "9000"
    assert len(data(response)) == 256
    public_key = state.certificate(card_id, kind).public_key()
    public_key.verify(data(response), b"origin and challenge", padding.PKCS1v15(), hash_algorithm)


def test_each_key_ef_signs_with_its_own_key(card, state, card_id):
    for kind in CertKind:
        ready_to_sign(card, kind)
    card.transmit(select_ef(KEY_EF[CertKind.AUTH]))
    signature = data(card.transmit(sign(digest_info(b"m"))))
    with pytest.raises(InvalidSignature):
        state.certificate(card_id, CertKind.SIGN).public_key().verify(
            signature, b"m", padding.PKCS1v15(), hashes.SHA256()
        )


def test_signature_before_verify_gets_6982(card):
    card.transmit(select_aid())
    for fid in KEY_EF.values():
        card.transmit(select_ef(fid))
        assert card.transmit(sign(digest_info())) == bytes.fromhex("6982")


def test_the_other_keys_pin_does_not_unlock_a_key(card):
    ready_to_sign(card, CertKind.AUTH)
    card.transmit(select_ef(KEY_EF[CertKind.SIGN]))
    assert sw(card.transmit(sign(digest_info()))) == "6982"


def test_signature_after_reset_needs_the_pin_again(card):
    ready_to_sign(card, CertKind.AUTH)
    card.reset()
    card.transmit(select_aid())
    card.transmit(select_ef(KEY_EF[CertKind.AUTH]))
    assert sw(card.transmit(sign(digest_info()))) == "6982"


def test_verification_allows_several_signatures(card):
    ready_to_sign(card, CertKind.SIGN)
    assert [sw(card.transmit(sign(digest_info(bytes((i,)))))) for i in range(3)] == ["9000"] * 3


def test_signing_without_a_key_ef_gets_6986(card):
    assert sw(card.transmit(sign(digest_info()))) == "6986"
    ready_to_sign(card, CertKind.AUTH)
    for fid in (0x0018, 0x000A, 0x0006):
        card.transmit(select_ef(fid))
        assert sw(card.transmit(sign(digest_info()))) == "6986"


def test_245_bytes_sign_and_246_get_6700(card, state, card_id):
    ready_to_sign(card, CertKind.AUTH)
    response = card.transmit(sign(bytes(range(245))))
    assert sw(response) == "9000"
    public_numbers = state.certificate(card_id, CertKind.AUTH).public_key().public_numbers()
    recovered = pow(int.from_bytes(data(response), "big"), public_numbers.e, public_numbers.n)
    assert recovered.to_bytes(256, "big") == b"\x00\x01" + b"\xff" * 8 + b"\x00" + bytes(range(245))
    assert card.transmit(sign(bytes(246))) == bytes.fromhex("6700")
    assert card.transmit(sign(bytes(255))) == bytes.fromhex("6700")


def test_over_long_digest_info_gets_6700_even_before_verify(card):
    card.transmit(select_aid())
    card.transmit(select_ef(KEY_EF[CertKind.AUTH]))
    assert sw(card.transmit(sign(bytes(246)))) == "6700"


@pytest.mark.parametrize("le", [None, 0x01, 0x80, 0xFF])
def test_le_other_than_00_gets_6700(card, le):
    ready_to_sign(card, CertKind.AUTH)
    assert sw(card.transmit(sign(digest_info(), le=le))) == "6700"


def test_sign_without_data_gets_6700(card):
    ready_to_sign(card, CertKind.AUTH)
    assert sw(card.transmit(bytes.fromhex("802A008000"))) == "6700"
    assert sw(card.transmit(bytes.fromhex("802A0080"))) == "6700"


@pytest.mark.parametrize("p1p2", ["0000", "9E9A", "0081", "0180"])
def test_sign_with_other_p1_p2_gets_6a86(card, p1p2):
    ready_to_sign(card, CertKind.AUTH)
    di = digest_info()
    apdu = bytes.fromhex(f"802A{p1p2}") + bytes((len(di),)) + di + b"\x00"
    assert sw(card.transmit(apdu)) == "6A86"


def test_raw_primitive_matches_cryptography_for_a_known_hash(contents):
    key = contents.keys[CertKind.AUTH]
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"x")
    value = digest.finalize()
    expected = key.sign(value, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    assert sign_digest_info(key, SHA256_PREFIX + value) == expected


def test_emsa_pkcs1_v15_block_type_1():
    block = emsa_pkcs1_v15(b"\xaa" * 3, 16)
    assert block == b"\x00\x01" + b"\xff" * 10 + b"\x00" + b"\xaa" * 3
    assert len(emsa_pkcs1_v15(bytes(MAX_DIGEST_INFO), 256)) == 256
    with pytest.raises(ValueError, match="too short"):
        emsa_pkcs1_v15(bytes(MAX_DIGEST_INFO + 1), 256)
