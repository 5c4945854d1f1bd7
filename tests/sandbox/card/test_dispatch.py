"""What earlier OpenSC drivers' probes and malformed APDUs get (docs/jpki.md §6.2): never 9000."""

import pytest

from tests.sandbox.card.commands import select_aid, sw


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("B0A4040006A00000000101", "6E00"),  # coolkey/muscle-style class B0
        ("0CA4040C0AD392F000260100000001", "6E00"),  # secure messaging class
        ("10A4040C0AD392F000260100000001", "6E00"),  # command chaining
        ("FF000000", "6E00"),
        ("A0A40000023F00", "6E00"),  # GSM class
        ("80A4040C0AD392F000260100000001", "6E00"),  # SELECT needs class 00
        ("002A00800100", "6E00"),  # signing needs class 80
        ("00CADF3005", "6D00"),  # GET DATA (sc-hsm probe)
        ("00CB3FFF035C017E08", "6D00"),  # GET DATA odd (PIV discovery)
        ("00840000 08", "6D00"),  # GET CHALLENGE
        ("00C0000000", "6D00"),  # GET RESPONSE: T=1, nothing pending
        ("00B1000000", "6D00"),  # READ BINARY odd INS
        ("80CA9F7F00", "6D00"),  # GET DATA CPLC (class 80)
        ("00E2000000", "6D00"),
        ("80500000080102030405060708", "6D00"),  # INITIALIZE UPDATE (GlobalPlatform)
    ],
)
def test_unknown_class_and_instruction(card, apdu, expected):
    assert sw(card.transmit(bytes.fromhex(apdu.replace(" ", "")))) == expected


@pytest.mark.parametrize("apdu", ["", "00", "00A4", "00A404"])
def test_apdus_shorter_than_a_header_get_6700(card, apdu):
    assert sw(card.transmit(bytes.fromhex(apdu))) == "6700"


def test_class_is_checked_before_the_body(card):
    assert sw(card.transmit(bytes.fromhex("B0A4040C0FD3"))) == "6E00"


def test_instruction_is_checked_before_the_body(card):
    assert sw(card.transmit(bytes.fromhex("00CA00000501"))) == "6D00"


@pytest.mark.parametrize(
    "apdu",
    [
        "00A4040C0BD392F000260100000001",  # Lc 11, AID of 10
        "00A4040C08D392F000260100000001",  # Lc 8, AID of 10
        "00B000000000FF",  # extended Le
        "00A4040C00000AD392F000260100000001",  # extended Lc
    ],
)
def test_lc_disagreeing_with_the_body_gets_6700(card, apdu):
    assert sw(card.transmit(bytes.fromhex(apdu))) == "6700"


def test_a_bad_command_leaves_the_selection_alone(card):
    card.transmit(select_aid())
    card.transmit(bytes.fromhex("00A4020C02000A"))
    card.transmit(bytes.fromhex("B0A4040006A00000000101"))
    assert sw(card.transmit(bytes.fromhex("00B0000004"))) == "9000"
