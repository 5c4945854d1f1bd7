"""VERIFY, the tries counters and their persistence (docs/jpki.md §5, §6.4, §6.6)."""

import pytest

from sandbox.card import VirtualCard
from sandbox.profiles import CertKind
from tests.sandbox.card.commands import (
    change_pin,
    digest_info,
    read_binary,
    select_aid,
    select_ef,
    sign,
    sw,
    verify,
)

AUTH, SIGN = 0x0018, 0x001B


def at_pin(card, pin_ef):
    card.transmit(select_aid())
    card.transmit(select_ef(pin_ef))
    return card


@pytest.mark.parametrize(("pin_ef", "tries"), [(AUTH, 3), (SIGN, 5)])
def test_bare_verify_reports_the_tries_left(card, pin_ef, tries):
    assert at_pin(card, pin_ef).transmit(verify()) == bytes((0x63, 0xC0 | tries))


@pytest.mark.parametrize(("pin_ef", "pin"), [(AUTH, "1234"), (SIGN, "ABC123")])
def test_right_pin_gets_9000(card, pin_ef, pin):
    assert at_pin(card, pin_ef).transmit(verify(pin)) == bytes.fromhex("9000")


def test_wrong_pins_count_down_then_63c0_then_6983(card, state, card_id):
    at_pin(card, AUTH)
    assert [sw(card.transmit(verify("0000"))) for _ in range(3)] == ["63C2", "63C1", "63C0"]
    assert sw(card.transmit(verify("1234"))) == "6983"  # the right PIN, refused
    assert sw(card.transmit(verify("0000"))) == "6983"
    assert sw(card.transmit(verify())) == "63C0"
    assert state.card(card_id).tries_left[CertKind.AUTH] == 0


def test_signing_pin_has_five_tries(card):
    at_pin(card, SIGN)
    responses = [sw(card.transmit(verify("WRONG1"))) for _ in range(6)]
    assert responses == ["63C4", "63C3", "63C2", "63C1", "63C0", "6983"]


def test_right_pin_resets_the_counter(card, state, card_id):
    at_pin(card, AUTH)
    card.transmit(verify("0000"))
    card.transmit(verify("0000"))
    assert sw(card.transmit(verify())) == "63C1"
    assert sw(card.transmit(verify("1234"))) == "9000"
    assert sw(card.transmit(verify())) == "63C3"
    assert state.card(card_id).tries_left[CertKind.AUTH] == 3


def test_bare_verify_answers_63cx_even_when_verified(card):
    at_pin(card, SIGN).transmit(verify("ABC123"))
    assert sw(card.transmit(verify())) == "63C5"  # OpenSC refuses the token unless SW1 = 63


def test_the_two_pins_are_independent(card):
    at_pin(card, AUTH)
    for _ in range(3):
        card.transmit(verify("9999"))
    card.transmit(select_ef(SIGN))
    assert sw(card.transmit(verify())) == "63C5"
    assert sw(card.transmit(verify("ABC123"))) == "9000"


def test_auth_pin_sent_to_the_signing_pin_ef_is_wrong(card):
    assert sw(at_pin(card, SIGN).transmit(verify("1234"))) == "63C4"


def test_signing_pin_is_compared_as_sent_so_lower_case_is_wrong(card):
    assert sw(at_pin(card, SIGN).transmit(verify("abc123"))) == "63C4"


@pytest.mark.parametrize(
    "pin", [b"12345", b"123", b"1234\x00", b"\xff\xfe\xfd\xfc", b" 1234", b"1" * 255]
)
def test_malformed_pins_are_wrong_pins(card, pin):
    assert sw(at_pin(card, AUTH).transmit(verify(pin))) == "63C2"


def test_wrong_pin_ends_verification(card):
    at_pin(card, AUTH).transmit(verify("1234"))
    card.transmit(verify("0000"))
    card.transmit(select_ef(0x0017))
    assert sw(card.transmit(sign(digest_info()))) == "6982"


def test_verification_survives_ef_selection_and_ap_reselection(card):
    at_pin(card, SIGN).transmit(verify("ABC123"))
    card.transmit(select_ef(0x000A))
    card.transmit(select_aid())
    card.transmit(select_ef(0x0001))
    assert sw(card.transmit(read_binary(0, 4))) == "9000"


@pytest.mark.parametrize("end", ["reset", "power_off"])
def test_verification_ends_at_reset_and_power_off(card, end):
    at_pin(card, SIGN).transmit(verify("ABC123"))
    getattr(card, end)()
    card.transmit(select_aid())
    card.transmit(select_ef(0x0001))
    assert sw(card.transmit(read_binary(0, 4))) == "6982"


def test_tries_survive_reset(card):
    at_pin(card, AUTH).transmit(verify("0000"))
    card.reset()
    assert sw(at_pin(card, AUTH).transmit(verify())) == "63C2"


def test_pin_lock_persists_in_a_new_card_from_the_same_state(card, state, card_id):
    at_pin(card, AUTH)
    for _ in range(3):
        card.transmit(verify("0000"))
    restarted = VirtualCard.from_state(state, card_id)
    at_pin(restarted, AUTH)
    assert sw(restarted.transmit(verify())) == "63C0"
    assert sw(restarted.transmit(verify("1234"))) == "6983"


def test_two_cards_of_the_same_state_share_the_counter(card, state, card_id):
    other = VirtualCard.from_state(state, card_id)
    at_pin(card, SIGN).transmit(verify("WRONG1"))
    assert sw(at_pin(other, SIGN).transmit(verify())) == "63C4"


def test_verify_without_a_pin_ef_gets_6986(card):
    assert sw(card.transmit(verify("1234"))) == "6986"  # MF
    card.transmit(select_aid())
    assert sw(card.transmit(verify("1234"))) == "6986"  # AP, no EF
    for fid in (0x000A, 0x0017, 0x0006):
        card.transmit(select_ef(fid))
        assert sw(card.transmit(verify("1234"))) == "6986"
        assert sw(card.transmit(verify())) == "6986"


@pytest.mark.parametrize("p1p2", ["0081", "0000", "0180", "FF80", "0001"])
def test_verify_other_p1_p2_gets_6a86(card, p1p2):
    at_pin(card, AUTH)
    assert sw(card.transmit(bytes.fromhex(f"0020{p1p2}0431323334"))) == "6A86"
    assert sw(card.transmit(verify())) == "63C3"  # not counted


@pytest.mark.parametrize("apdu", ["0020008000", "002000800431323334" + "00"])
def test_verify_with_le_gets_6700(card, apdu):
    at_pin(card, AUTH)
    assert sw(card.transmit(bytes.fromhex(apdu))) == "6700"
    assert sw(card.transmit(verify())) == "63C3"


def test_change_pin_after_verify(card, state, card_id):
    at_pin(card, AUTH)
    assert sw(card.transmit(change_pin("5678"))) == "6982"
    card.transmit(verify("1234"))
    assert sw(card.transmit(change_pin("567"))) == "6A80"
    assert sw(card.transmit(change_pin("ABCD"))) == "6A80"
    assert sw(card.transmit(change_pin("5678"))) == "9000"
    restarted = VirtualCard.from_state(state, card_id)
    at_pin(restarted, AUTH)
    assert sw(restarted.transmit(verify("1234"))) == "63C2"
    assert sw(restarted.transmit(verify("5678"))) == "9000"


def test_change_signing_pin_checks_its_format(card):
    at_pin(card, SIGN).transmit(verify("ABC123"))
    assert sw(card.transmit(change_pin("abc123"))) == "6A80"
    assert sw(card.transmit(change_pin("ABC12"))) == "6A80"
    assert sw(card.transmit(change_pin("A" * 17))) == "6A80"
    assert sw(card.transmit(change_pin("NEWPASS2024"))) == "9000"


def test_change_pin_when_blocked_gets_6983(card):
    at_pin(card, AUTH)
    for _ in range(3):
        card.transmit(verify("0000"))
    assert sw(card.transmit(change_pin("5678"))) == "6983"


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("0024008008313233343536373839", "6A86"),  # P1=00: old and new PIN, not supported
        ("002401810435363738", "6A86"),
        ("00240180", "6700"),  # no new PIN
        ("00240180043536373800", "6700"),  # Le
    ],
)
def test_change_pin_malformed(card, apdu, expected):
    at_pin(card, AUTH).transmit(verify("1234"))
    assert sw(card.transmit(bytes.fromhex(apdu))) == expected
