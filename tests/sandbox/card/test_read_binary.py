"""READ BINARY: certificates, the token, offsets, what is never readable (docs/jpki.md §1, §6.5)."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sandbox.card.files import TOKEN
from sandbox.profiles import CertKind
from tests.sandbox.card.commands import (
    data,
    read_binary,
    read_file,
    select_aid,
    select_ef,
    sw,
    verify,
)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@pytest.fixture
def in_ap(card):
    card.transmit(select_aid())
    return card


def test_token_is_jpkiapicctoken_nul_padded_to_32_bytes(in_ap):
    in_ap.transmit(select_ef(0x0006))
    response = in_ap.transmit(read_binary(0, 0))
    assert response == b"JPKIAPICCTOKEN" + bytes(18) + bytes.fromhex("6282")
    assert in_ap.transmit(read_binary(0, 32)) == TOKEN + bytes.fromhex("9000")


@pytest.mark.parametrize(("fid", "kind"), [(0x000A, CertKind.AUTH)])
def test_auth_certificate_reads_without_any_pin(in_ap, state, card_id, fid, kind):
    in_ap.transmit(select_ef(fid))
    assert read_file(in_ap.transmit) == der(state.certificate(card_id, kind))


@pytest.mark.parametrize(("fid", "kind"), [(0x000B, CertKind.AUTH), (0x0002, CertKind.SIGN)])
def test_ca_certificates_read_without_any_pin(in_ap, state, fid, kind):
    in_ap.transmit(select_ef(fid))
    assert read_file(in_ap.transmit) == der(state.ca(kind).root.certificate)


@pytest.mark.parametrize("fid", [0x000A, 0x000B, 0x0002])
def test_certificate_efs_start_30_82(in_ap, fid):
    in_ap.transmit(select_ef(fid))
    assert data(in_ap.transmit(read_binary(0, 4)))[:2] == b"\x30\x82"


def test_signing_certificate_needs_the_signing_pin(in_ap, state, card_id):
    assert sw(in_ap.transmit(select_ef(0x0001))) == "9000"  # selecting is allowed
    assert in_ap.transmit(read_binary(0, 4)) == bytes.fromhex("6982")
    in_ap.transmit(select_ef(0x0018))
    in_ap.transmit(verify("1234"))  # the authentication PIN is not enough
    in_ap.transmit(select_ef(0x0001))
    assert in_ap.transmit(read_binary(0, 4)) == bytes.fromhex("6982")
    in_ap.transmit(select_ef(0x001B))
    assert sw(in_ap.transmit(verify("ABC123"))) == "9000"
    in_ap.transmit(select_ef(0x0001))
    assert read_file(in_ap.transmit) == der(state.certificate(card_id, CertKind.SIGN))


def test_signing_certificate_is_unreadable_again_after_reset(in_ap):
    in_ap.transmit(select_ef(0x001B))
    in_ap.transmit(verify("ABC123"))
    in_ap.reset()
    in_ap.transmit(select_aid())
    in_ap.transmit(select_ef(0x0001))
    assert sw(in_ap.transmit(read_binary(0, 4))) == "6982"


@pytest.mark.parametrize("fid", [0x0017, 0x001A, 0x0018, 0x001B])
def test_key_and_pin_efs_are_never_readable(in_ap, fid):
    for pin_ef, pin in ((0x0018, "1234"), (0x001B, "ABC123")):
        in_ap.transmit(select_ef(pin_ef))
        assert sw(in_ap.transmit(verify(pin))) == "9000"
    in_ap.transmit(select_ef(fid))
    for offset, le in ((0, 4), (0, 0), (1, 1), (0x100, 0)):
        assert in_ap.transmit(read_binary(offset, le)) == bytes.fromhex("6981")


def test_read_without_current_ef_gets_6986(card):
    assert sw(card.transmit(read_binary(0, 4))) == "6986"  # MF, no EF
    card.transmit(select_aid())
    assert sw(card.transmit(read_binary(0, 4))) == "6986"  # AP, no EF


def test_reads_in_256_byte_chunks_then_the_exact_rest(in_ap, state, card_id):
    certificate = der(state.certificate(card_id, CertKind.AUTH))
    in_ap.transmit(select_ef(0x000A))
    out, offset = b"", 0
    while len(certificate) - offset > 256:
        response = in_ap.transmit(read_binary(offset, 0))
        assert sw(response) == "9000"
        assert len(data(response)) == 256
        out += data(response)
        offset += 256
    last = in_ap.transmit(read_binary(offset, len(certificate) - offset))
    assert sw(last) == "9000"
    assert out + data(last) == certificate


def test_reading_past_the_end_returns_what_is_left_with_6282(in_ap, state, card_id):
    certificate = der(state.certificate(card_id, CertKind.AUTH))
    in_ap.transmit(select_ef(0x000A))
    offset = len(certificate) - 10
    response = in_ap.transmit(read_binary(offset, 0))
    assert data(response) == certificate[-10:]
    assert sw(response) == "6282"
    assert sw(in_ap.transmit(read_binary(offset, 11))) == "6282"
    assert sw(in_ap.transmit(read_binary(offset, 10))) == "9000"


def test_offsets_at_or_past_the_end_get_6b00(in_ap, state, card_id):
    size = len(der(state.certificate(card_id, CertKind.AUTH)))
    in_ap.transmit(select_ef(0x000A))
    for offset in (size, size + 1, 0x7FFF):
        assert in_ap.transmit(read_binary(offset, 0)) == bytes.fromhex("6B00")
    in_ap.transmit(select_ef(0x0006))
    assert in_ap.transmit(read_binary(32, 1)) == bytes.fromhex("6B00")


def test_read_with_short_ef_identifier_in_p1_gets_6a86(in_ap):
    in_ap.transmit(select_ef(0x000A))
    assert sw(in_ap.transmit(bytes.fromhex("00B08A0004"))) == "6A86"


@pytest.mark.parametrize("apdu", ["00B00000", "00B000000100", "00B00000010004"])
def test_read_without_le_or_with_data_gets_6700(in_ap, apdu):
    in_ap.transmit(select_ef(0x000A))
    assert sw(in_ap.transmit(bytes.fromhex(apdu))) == "6700"


def test_read_binary_needs_class_00(in_ap):
    in_ap.transmit(select_ef(0x000A))
    assert sw(in_ap.transmit(bytes.fromhex("80B0000004"))) == "6E00"
