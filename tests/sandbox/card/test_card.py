"""The card object: ATR, power, construction from the state, and traces that hide secrets."""

import logging

import pytest

from sandbox.card import ATR, VirtualCard
from sandbox.card.status import SW
from sandbox.state import SandboxError
from tests.sandbox.card.commands import select_aid, select_ef, sw, verify


def test_atr_is_the_real_cards():
    assert bytes.fromhex("3BE000FF8131FE4514") == ATR
    assert VirtualCard.atr == ATR


def test_power_on_and_reset_return_the_atr(card):
    assert card.power_on() == ATR
    assert card.reset() == ATR


def test_unknown_card_is_a_sandbox_error(state):
    with pytest.raises(SandboxError, match="unknown card"):
        VirtualCard.from_state(state, "0123456789ab")


def test_not_a_card_id_is_a_sandbox_error(state):
    with pytest.raises(SandboxError, match="not a card id"):
        VirtualCard.from_state(state, "../ca")


def test_an_unpowered_card_powers_up_on_the_first_command(state, card_id):
    card = VirtualCard.from_state(state, card_id)
    assert not card.powered
    assert sw(card.transmit(select_aid())) == "9000"
    assert card.powered


def test_power_off_then_command_starts_from_the_mf(card):
    card.transmit(select_aid())
    card.power_off()
    assert not card.powered
    assert sw(card.transmit(select_ef(0x000A))) == "6A82"


def test_an_internal_error_answers_6f00_and_the_card_lives_on(card, monkeypatch, caplog):
    def broken(_raw):
        raise RuntimeError("bug")

    monkeypatch.setattr(card.applet, "process", broken)
    with caplog.at_level(logging.ERROR):
        assert card.transmit(select_aid()) == SW.NO_PRECISE_DIAGNOSIS.raw
    assert "failed on" in caplog.text
    monkeypatch.undo()
    assert sw(card.transmit(select_aid())) == "9000"


def test_traces_never_show_pins_or_response_data(card, caplog):
    with caplog.at_level(logging.DEBUG, logger="sandbox.card"):
        card.transmit(select_aid())
        card.transmit(select_ef(0x0018))
        card.transmit(verify("1234"))
        card.transmit(verify("9876"))
    text = caplog.text.replace(card.card_id, "CARD")  # a random id may hold any digits
    assert "00 20 00 80 + 5 body bytes" in text
    for secret in ("1234", "31323334", "31 32 33 34", "9876", "39383736"):
        assert secret not in text
