"""Short APDUs, the trace's redaction of PIN bodies, and T=0's 61xx / 6Cxx answers."""

from __future__ import annotations

import logging

import pytest

from client_bridge.apdu import Response, command, describe, exchange


class ScriptedCard:
    """Answers from a list, recording what it was sent (T=0 behaviour is scripted here)."""

    def __init__(self, *answers: str) -> None:
        self.answers = [bytes.fromhex(answer) for answer in answers]
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(bytes(apdu))
        return self.answers.pop(0)


def test_command_encodes_the_four_short_cases() -> None:
    assert command(0, 0xA4, 2, 0x0C, b"\x00\x0a") == bytes.fromhex("00A4020C02000A")
    assert command(0, 0xB0, 0, 0, le=256) == bytes.fromhex("00B0000000")
    assert command(0, 0x20, 0, 0x80) == bytes.fromhex("00200080")
    assert command(0x80, 0x2A, 0, 0x80, b"\x01", le=256) == bytes.fromhex("802A0080010100")


def test_command_refuses_what_needs_extended_length() -> None:
    with pytest.raises(ValueError, match="too long"):
        command(0, 0x2A, 0, 0, bytes(256))
    with pytest.raises(ValueError, match="Le"):
        command(0, 0xB0, 0, 0, le=257)


def test_describe_redacts_verify_and_change_bodies() -> None:
    verify = bytes.fromhex("002000800431323334")
    assert "31" not in describe(verify)
    assert describe(verify) == "00 20 00 80 [5 bytes redacted]"
    assert "redacted" in describe(bytes.fromhex("00240180063132333435"))
    assert describe(bytes.fromhex("00B0000004")) == "00 B0 00 00 04"


def test_exchange_never_logs_a_pin(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="client_bridge.apdu")
    exchange(ScriptedCard("63C2"), bytes.fromhex("002000800431323334"))
    assert caplog.records
    assert "31 32 33 34" not in caplog.text
    assert "31323334" not in caplog.text


def test_exchange_follows_61xx_with_get_response() -> None:
    card = ScriptedCard("01026103", "0304059000")
    response = exchange(card, bytes.fromhex("802A0080010100"))
    assert response == Response(bytes.fromhex("0102030405"), 0x9000)
    assert card.sent[1] == bytes.fromhex("00C0000003")


def test_exchange_resends_with_the_le_a_6cxx_names() -> None:
    card = ScriptedCard("6C04", "308201029000")
    response = exchange(card, bytes.fromhex("00B0000000"))
    assert response.data == bytes.fromhex("30820102")
    assert card.sent[1] == bytes.fromhex("00B0000004")


def test_a_response_without_status_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        Response.parse(b"\x90")


@pytest.mark.parametrize(
    "apdu", ["00A4020C02000A", "002000800431323334"], ids=["select-case-3", "verify"]
)
def test_6cxx_is_not_followed_for_commands_without_le_or_with_a_pin(apdu: str) -> None:
    card = ScriptedCard("6C04")
    assert exchange(card, bytes.fromhex(apdu)).sw == 0x6C04
    assert len(card.sent) == 1
