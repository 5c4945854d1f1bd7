"""Parsing command APDUs: the four short cases and everything that is not one."""

import pytest

from sandbox.card.apdu import CommandAPDU, Header, MalformedAPDU, parse


def test_case_1_has_no_data_and_no_le():
    command = parse(bytes.fromhex("00200080"))
    assert (command.cla, command.ins, command.p1, command.p2) == (0x00, 0x20, 0x00, 0x80)
    assert command.data == b""
    assert command.ne is None
    assert command.case == 1


@pytest.mark.parametrize(("le", "ne"), [(0x04, 4), (0xFF, 255), (0x00, 256)])
def test_case_2_le_00_means_256(le, ne):
    command = parse(bytes((0x00, 0xB0, 0x00, 0x00, le)))
    assert command.ne == ne
    assert command.case == 2


def test_case_3_carries_lc_bytes_of_data():
    command = parse(bytes.fromhex("00A4020C02000A"))
    assert command.data == bytes.fromhex("000A")
    assert command.ne is None
    assert command.case == 3


def test_case_4_carries_data_and_le():
    command = parse(bytes.fromhex("802A00800301020300"))
    assert command.data == bytes.fromhex("010203")
    assert command.ne == 256
    assert command.case == 4


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00",
        "00A4",
        "00A404",  # shorter than a header
        "00A4020C03000A",  # Lc 3, two data bytes
        "00A4020C01000A0B",  # Lc 1 and three more bytes
        "00A4020C02000A0000",  # one byte too many for case 4
        "00B0000000000A",  # extended-length Le: not supported
        "00A4020C000002000A",  # extended-length Lc: not supported
    ],
)
def test_malformed_apdus_raise_6700(raw):
    with pytest.raises(MalformedAPDU) as error:
        parse(bytes.fromhex(raw))
    assert error.value.sw == bytes.fromhex("6700")


def test_header_needs_four_bytes():
    with pytest.raises(MalformedAPDU):
        Header.parse(b"\x00\xa4\x04")


@pytest.mark.parametrize(
    "raw", ["00200080", "00B0000000", "00A4020C02000A", "802A00800301020300", "00B00000FF"]
)
def test_to_bytes_round_trips(raw):
    assert parse(bytes.fromhex(raw)).to_bytes() == bytes.fromhex(raw)


def test_p1p2_is_the_read_binary_offset():
    assert CommandAPDU(0, 0xB0, 0x12, 0x34, ne=1).p1p2 == 0x1234
