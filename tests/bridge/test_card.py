"""The JPKI commands against the sandbox card, in process (the PC/SC path is test_pcsc.py)."""

from __future__ import annotations

import pytest
from cryptography import x509

from client_bridge import errors
from client_bridge.card import JPKI_AID, JpkiCard, der_length
from client_bridge.pin import KeyKind, Pin
from client_bridge.protocol import digest_info
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN, InProcessConnection

CARD_INFO_AP = bytes.fromhex("D3921000310001010408")


def selected_aids(sent: list[bytes]) -> set[bytes]:
    return {apdu[5:] for apdu in sent if apdu[1] == 0xA4 and apdu[2] == 0x04}


def test_reads_the_auth_certificate_in_chunks_never_past_its_length(
    connection: InProcessConnection,
) -> None:
    card = JpkiCard(connection)
    card.select_application()
    der = card.read_certificate(KeyKind.AUTH)
    x509.load_der_x509_certificate(der)
    reads = [apdu for apdu in connection.sent if apdu[1] == 0xB0]
    assert reads[0] == bytes.fromhex("00B0000004")
    offsets_and_lengths = [((r[2] << 8 | r[3]), r[4] or 256) for r in reads]
    assert all(length <= 256 for _, length in offsets_and_lengths)
    last_offset, last_length = offsets_and_lengths[-1]
    assert last_offset + last_length == len(der)


def test_signing_certificate_needs_the_signing_pin(connection: InProcessConnection) -> None:
    card = JpkiCard(connection)
    card.select_application()
    with pytest.raises(errors.PinRequired):
        card.read_certificate(KeyKind.SIGN)
    card.verify(Pin(KeyKind.SIGN, SIGN_PIN))
    assert x509.load_der_x509_certificate(card.read_certificate(KeyKind.SIGN))


def test_tries_left_and_wrong_pin_count_down_to_locked(connection: InProcessConnection) -> None:
    card = JpkiCard(connection)
    card.select_application()
    assert card.tries_left(KeyKind.AUTH) == 3
    with pytest.raises(errors.WrongPin) as first:
        card.verify(Pin(KeyKind.AUTH, "0000"))
    assert first.value.tries_left == 2
    with pytest.raises(errors.WrongPin) as second:
        card.verify(Pin(KeyKind.AUTH, "0000"))
    assert second.value.tries_left == 1
    assert "市区町村の窓口" in second.value.message("ja")
    assert "municipal office" in second.value.message("en")
    with pytest.raises(errors.PinLocked):
        card.verify(Pin(KeyKind.AUTH, "0000"))
    assert card.tries_left(KeyKind.AUTH) == 0
    with pytest.raises(errors.PinLocked):
        card.verify(Pin(KeyKind.AUTH, AUTH_PIN))


def test_verify_sends_the_pin_only_to_its_own_pin_ef(connection: InProcessConnection) -> None:
    card = JpkiCard(connection)
    card.select_application()
    card.verify(Pin(KeyKind.AUTH, AUTH_PIN))
    selects = [apdu[5:7].hex() for apdu in connection.sent if apdu[:3] == b"\x00\xa4\x02"]
    assert selects == ["0018"]


def test_sign_returns_256_bytes_after_verify(connection: InProcessConnection) -> None:
    card = JpkiCard(connection)
    card.select_application()
    with pytest.raises(errors.PinRequired):
        card.sign(KeyKind.AUTH, digest_info("https://idp.example", bytes(32)))
    card.verify(Pin(KeyKind.AUTH, AUTH_PIN))
    assert len(card.sign(KeyKind.AUTH, digest_info("https://idp.example", bytes(32)))) == 256


def test_only_the_jpki_ap_is_ever_selected(connection: InProcessConnection) -> None:
    card = JpkiCard(connection)
    card.select_application()
    card.read_certificate(KeyKind.AUTH)
    card.verify(Pin(KeyKind.SIGN, SIGN_PIN))
    card.read_certificate(KeyKind.SIGN)
    card.sign(KeyKind.SIGN, digest_info("https://idp.example", bytes(32)))
    assert selected_aids(connection.sent) == {JPKI_AID}
    assert not any(CARD_INFO_AP in apdu for apdu in connection.sent)


class OtherCard:
    """A card without the JPKI AP: every SELECT by AID is 'file not found'."""

    def transmit(self, apdu: bytes) -> bytes:
        assert apdu[1] == 0xA4
        return bytes.fromhex("6A82")


def test_a_card_without_the_jpki_ap_is_not_a_jpki_card() -> None:
    with pytest.raises(errors.NotJpkiCard):
        JpkiCard(OtherCard()).select_application()


@pytest.mark.parametrize(
    ("head", "total"),
    [("30820102", 0x102 + 4), ("30817F00", 0x7F + 3), ("30450000", 0x45 + 2)],
)
def test_der_length_from_the_first_four_bytes(head: str, total: int) -> None:
    assert der_length(bytes.fromhex(head)) == total


@pytest.mark.parametrize("head", ["31820102", "30830100", "30800000", "30820000", "3082"])
def test_der_length_refuses_what_is_not_a_certificate(head: str) -> None:
    with pytest.raises(errors.CardError):
        der_length(bytes.fromhex(head))
