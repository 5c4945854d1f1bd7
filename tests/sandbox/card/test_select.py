"""SELECT: the JPKI AP by AID, its EFs by file id, and nothing else (docs/jpki.md §1, §6.3,
§6.9)."""

import pytest

from sandbox.card.files import JPKI_AID
from tests.sandbox.card.commands import data, read_binary, select_aid, select_ef, sw

OTHER_APS = {
    "card-info input support AP": "D3921000310001010408",
    "card-face AP": "D3921000310001010402",
    "juki AP": "D3921000310001010100",
    "PIV": "A000000308000010000100",
    "OpenPGP": "D27600012401",
    "GIDS": "A000000397425446590201",
    "sc-hsm": "E82B0601040181C31F0201",
    "muscle": "A00000000101",
}
JPKI_EFS = [0x0006, 0x000A, 0x000B, 0x0001, 0x0002, 0x0017, 0x0018, 0x001A, 0x001B]


@pytest.mark.parametrize("p2", [0x0C, 0x00])
def test_select_jpki_ap(card, p2):
    assert card.transmit(select_aid(p2=p2)) == bytes.fromhex("9000")


@pytest.mark.parametrize("aid", OTHER_APS.values(), ids=OTHER_APS.keys())
@pytest.mark.parametrize("p2", [0x0C, 0x00])
def test_any_other_aid_is_not_found(card, aid, p2):
    assert card.transmit(select_aid(bytes.fromhex(aid), p2)) == bytes.fromhex("6A82")


@pytest.mark.parametrize(
    "aid",
    [JPKI_AID[:5], JPKI_AID[:-1], JPKI_AID + b"\x00", JPKI_AID[:-1] + b"\x02", b"\xd3" * 16],
    ids=["prefix", "truncated", "extended", "last byte", "16 bytes"],
)
def test_only_the_exact_jpki_aid_selects(card, aid):
    assert sw(card.transmit(select_aid(aid))) == "6A82"


def test_select_by_aid_without_data_is_not_found(card):
    assert sw(card.transmit(bytes.fromhex("00A4040C"))) == "6A82"
    assert sw(card.transmit(bytes.fromhex("00A4040000"))) == "6A82"


def test_select_ap_with_p2_00_and_le_returns_fci_with_the_df_name(card):
    response = card.transmit(select_aid(p2=0x00) + b"\x00")
    assert sw(response) == "9000"
    assert data(response) == bytes.fromhex("6F0C840A") + JPKI_AID


def test_select_ap_with_p2_0c_returns_no_data_even_with_le(card):
    assert card.transmit(select_aid() + b"\x00") == bytes.fromhex("9000")


def test_fci_longer_than_le_gets_6700(card):
    assert sw(card.transmit(select_aid(p2=0x00) + b"\x04")) == "6700"


@pytest.mark.parametrize("fid", JPKI_EFS, ids=[f"{fid:04X}" for fid in JPKI_EFS])
def test_select_each_jpki_ef(card, fid):
    card.transmit(select_aid())
    assert card.transmit(select_ef(fid)) == bytes.fromhex("9000")


@pytest.mark.parametrize("fid", [0x0003, 0x0011, 0x000C, 0x2F00, 0x5031, 0x0019, 0xFFFF, 0x3F00])
def test_unknown_ef_is_not_found(card, fid):
    card.transmit(select_aid())
    assert sw(card.transmit(select_ef(fid))) == "6A82"


def test_efs_are_not_found_before_the_ap_is_selected(card):
    assert sw(card.transmit(select_ef(0x000A))) == "6A82"


def test_select_ef_with_p2_00_and_le_returns_fid_and_size(card, state, card_id):
    from cryptography.hazmat.primitives.serialization import Encoding

    size = len(state.certificate(card_id, "auth").public_bytes(Encoding.DER))
    card.transmit(select_aid())
    response = card.transmit(select_ef(0x000A, p2=0x00) + b"\x00")
    assert sw(response) == "9000"
    assert data(response) == bytes.fromhex("6F0B8302000A8002") + size.to_bytes(2, "big") + (
        bytes.fromhex("820101")
    )


def test_select_key_ef_fci_has_no_size(card):
    card.transmit(select_aid())
    assert data(card.transmit(select_ef(0x0017, p2=0x00) + b"\x00")) == bytes.fromhex(
        "6F0483020017"
    )


@pytest.mark.parametrize("p2", [0x04, 0x08, 0x02, 0x0D, 0xFF])
def test_other_p2_gets_6a86(card, p2):
    assert sw(card.transmit(select_aid(p2=p2))) == "6A86"


@pytest.mark.parametrize("p1", [0x01, 0x03, 0x08, 0x09, 0xFF])
def test_other_p1_gets_6a86(card, p1):
    assert sw(card.transmit(bytes((0x00, 0xA4, p1, 0x0C, 0x02, 0x3F, 0x00)))) == "6A86"


@pytest.mark.parametrize("body", ["01 00", "03 00000A", "04 0000000A"])
def test_file_id_must_be_two_bytes(card, body):
    card.transmit(select_aid())
    assert sw(card.transmit(bytes.fromhex("00A4020C" + body.replace(" ", "")))) == "6700"


def test_select_ef_without_data_gets_6700(card):
    card.transmit(select_aid())
    assert sw(card.transmit(bytes.fromhex("00A4020C"))) == "6700"


def test_select_mf_leaves_the_ap(card):
    card.transmit(select_aid())
    assert sw(card.transmit(bytes.fromhex("00A4000C023F00"))) == "9000"
    assert sw(card.transmit(select_ef(0x000A))) == "6A82"
    assert sw(card.transmit(bytes.fromhex("00A4000C"))) == "9000"


def test_p1_00_selects_an_ef_of_the_current_ap(card):
    card.transmit(select_aid())
    assert sw(card.transmit(bytes.fromhex("00A4000C02000A"))) == "9000"
    assert sw(card.transmit(read_binary(0, 4))) == "9000"


def test_failed_select_keeps_the_current_ef(card):
    card.transmit(select_aid())
    card.transmit(select_ef(0x000A))
    assert sw(card.transmit(select_ef(0x0003))) == "6A82"
    assert sw(card.transmit(select_aid(bytes.fromhex(OTHER_APS["PIV"])))) == "6A82"
    assert sw(card.transmit(read_binary(0, 4))) == "9000"


def test_reselecting_the_ap_clears_the_current_ef(card):
    card.transmit(select_aid())
    card.transmit(select_ef(0x000A))
    card.transmit(select_aid())
    assert sw(card.transmit(read_binary(0, 4))) == "6986"


def test_select_ap_works_again_after_reset(card):
    card.transmit(select_aid())
    card.reset()
    assert sw(card.transmit(select_ef(0x000A))) == "6A82"
    assert sw(card.transmit(select_aid())) == "9000"
    assert sw(card.transmit(select_ef(0x000A))) == "9000"
