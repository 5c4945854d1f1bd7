"""pyscard and pcsc_scan against the virtual card in pcscd: the bridge's own view (docs/jpki.md
§6)."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from smartcard.CardConnection import CardConnection
from smartcard.Exceptions import CardConnectionException
from smartcard.scard import SCARD_RESET_CARD
from smartcard.System import readers

from sandbox.card import ATR
from tests.sandbox.card.commands import (
    data,
    digest_info,
    read_binary,
    read_file,
    select_aid,
    select_ef,
    sign,
    sw,
    verify,
)
from tests.sandbox.card.conftest import READER, insert_card, reader_status

pytestmark = pytest.mark.pcsc


class Connection:
    """A pyscard connection with the in-process card's bytes-in, bytes-out interface."""

    def __init__(self, reader_name: str) -> None:
        reader = next(r for r in readers() if str(r) == reader_name)
        self.connection = reader.createConnection()
        self.connection.connect()
        self.closed = False

    def transmit(self, command: bytes) -> bytes:
        response, sw1, sw2 = self.connection.transmit(list(command))
        return bytes(response) + bytes((sw1, sw2))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(CardConnectionException):  # already gone with the card
            self.connection.disconnect()
        self.connection.release()


@pytest.fixture
def connection(inserted_card):
    conn = Connection(inserted_card.reader)
    yield conn
    conn.close()


def test_pyscard_lists_the_virtual_reader_with_the_card(inserted_card, connection):
    assert READER in [str(r) for r in readers()]
    assert bytes(connection.connection.getATR()) == ATR
    assert connection.connection.getProtocol() == CardConnection.T1_protocol
    assert reader_status(READER) == (True, ATR)


def test_pcsc_scan_sees_the_card(inserted_card):
    result = subprocess.run(
        ["pcsc_scan", "-n", "-t", "2"], capture_output=True, text=True, timeout=30, check=False
    )
    assert f"Reader 0: {READER}" in result.stdout
    assert "Card inserted" in result.stdout
    assert "ATR: 3B E0 00 FF 81 31 FE 45 14" in result.stdout


def test_a_login_as_the_bridge_does_it(inserted_card, connection):
    assert sw(connection.transmit(select_aid())) == "9000"
    connection.transmit(select_ef(0x000A))
    certificate = x509.load_der_x509_certificate(read_file(connection.transmit))
    connection.transmit(select_ef(0x0018))
    assert sw(connection.transmit(verify())) == "63C3"
    assert sw(connection.transmit(verify(inserted_card.auth_pin))) == "9000"
    connection.transmit(select_ef(0x0017))
    response = connection.transmit(sign(digest_info(b"challenge")))
    assert sw(response) == "9000"
    certificate.public_key().verify(
        data(response), b"challenge", padding.PKCS1v15(), hashes.SHA256()
    )


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00A404", "6700"),  # short
        ("00A4", "6700"),
        ("05", "6700"),  # one byte that is not a vpcd control
        ("00A4040C0BD392F000260100000001", "6700"),  # Lc one too many
        ("00A4040C08D392F000260100000001", "6700"),  # Lc too few for the body
        ("00B000000000FF", "6700"),  # extended Le
        ("B0A4040006A00000000101", "6E00"),  # unknown CLA
        ("FFCA000000", "6E00"),  # PC/SC pseudo-APDU: the card is not a reader
        ("00CA000000", "6D00"),  # unknown INS
        ("0084000008", "6D00"),
        ("00A4040C0AD3921000310001010408", "6A82"),  # card-info input support AP: never here
        ("00A4080C02000A", "6A86"),  # bad P1
        ("00B0000004", "6986"),  # no current EF
    ],
)
def test_malformed_and_unknown_apdus_get_the_right_sw(connection, apdu, expected):
    assert sw(connection.transmit(bytes.fromhex(apdu))) == expected
    assert sw(connection.transmit(select_aid())) == "9000"  # and the card lives on


def test_signing_before_verify_and_reading_key_files_are_refused(connection):
    connection.transmit(select_aid())
    for key_ef in (0x0017, 0x001A):
        connection.transmit(select_ef(key_ef))
        assert sw(connection.transmit(sign(digest_info()))) == "6982"
        assert sw(connection.transmit(read_binary(0, 0))) == "6981"
    for pin_ef in (0x0018, 0x001B):
        connection.transmit(select_ef(pin_ef))
        assert sw(connection.transmit(read_binary(0, 4))) == "6981"
    connection.transmit(select_ef(0x0001))
    assert sw(connection.transmit(read_binary(0, 4))) == "6982"
    connection.transmit(select_ef(0x0017))
    assert sw(connection.transmit(sign(bytes(246)))) == "6700"


def test_a_card_reset_ends_verification(inserted_card, connection):
    connection.transmit(select_aid())
    connection.transmit(select_ef(0x001B))
    assert sw(connection.transmit(verify(inserted_card.sign_pin))) == "9000"
    connection.connection.reconnect(disposition=SCARD_RESET_CARD)
    connection.transmit(select_aid())
    connection.transmit(select_ef(0x0001))
    assert sw(connection.transmit(read_binary(0, 4))) == "6982"


def test_removing_the_card_is_seen_by_pyscard(inserted_card, connection):
    connection.transmit(select_aid())
    said = inserted_card.remove()
    assert f"Card {inserted_card.card_id} removed from the virtual reader" in said
    assert reader_status(READER) == (False, b"")
    with pytest.raises(CardConnectionException):
        connection.transmit(select_aid())


def test_pin_lock_survives_removal_and_a_new_insert(inserted_card, connection):
    connection.transmit(select_aid())
    connection.transmit(select_ef(0x0018))
    assert [sw(connection.transmit(verify("0000"))) for _ in range(3)] == ["63C2", "63C1", "63C0"]
    connection.close()
    inserted_card.remove()
    again = insert_card(inserted_card.state, inserted_card.card_id)
    try:
        fresh = Connection(READER)
        fresh.transmit(select_aid())
        fresh.transmit(select_ef(0x0018))
        assert sw(fresh.transmit(verify())) == "63C0"
        assert sw(fresh.transmit(verify(inserted_card.auth_pin))) == "6983"
        fresh.close()
    finally:
        again.remove()
