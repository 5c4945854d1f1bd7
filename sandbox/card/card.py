"""A virtual My Number Card: the ATR, power, and the in-process transport (bytes in, bytes out).

The vpcd transport (:mod:`sandbox.card.vpcd`) drives the same object from a PC/SC reader; unit
tests call :meth:`VirtualCard.transmit` directly.
"""

from __future__ import annotations

import logging

from sandbox.card.applet import JpkiApplet
from sandbox.card.files import CardContents
from sandbox.card.pins import StatePins
from sandbox.card.status import SW
from sandbox.state import SandboxState

ATR = bytes.fromhex("3BE000FF8131FE4514")
"""docs/jpki.md §1, §6.1: T=1 only, IFSC 254, no historical bytes; OpenSC's ``jpki`` driver matches
it with no APDU and no configuration."""

log = logging.getLogger(__name__)


class VirtualCard:
    """One card in one reader. Construct with :meth:`from_state` (or from an applet in tests)."""

    atr = ATR

    def __init__(self, applet: JpkiApplet, card_id: str = "") -> None:
        self.applet = applet
        self.card_id = card_id
        self.powered = False

    @classmethod
    def from_state(cls, state: SandboxState, card_id: str) -> VirtualCard:
        """The card ``card_id`` of a sandbox; SandboxError if there is no such card."""
        state.card_dir(card_id)
        applet = JpkiApplet(CardContents.from_state(state, card_id), StatePins(state, card_id))
        return cls(applet, card_id)

    def power_on(self) -> bytes:
        """Cold reset: power, ATR; nothing verified, MF current."""
        self.applet.reset()
        self.powered = True
        return self.atr

    def reset(self) -> bytes:
        """Warm reset: ends verification like a power cycle; the tries counters stay."""
        return self.power_on()

    def power_off(self) -> None:
        self.applet.reset()
        self.powered = False

    def transmit(self, command: bytes) -> bytes:
        """One command APDU in, the response APDU (data and SW1 SW2) out; never raises.

        A card that is not powered is powered up first, as PC/SC readers do on connect.
        """
        if not self.powered:
            self.power_on()
        log.debug("card %s <- %s", self.card_id, describe_command(command))
        try:
            response = self.applet.process(bytes(command))
        except Exception:  # a bug of ours must look like a card fault, never kill the reader
            log.exception("card %s failed on %s", self.card_id, describe_command(command))
            response = SW.NO_PRECISE_DIAGNOSIS.raw
        log.debug(
            "card %s -> %d bytes, SW %s",
            self.card_id,
            len(response) - 2,
            response[-2:].hex().upper(),
        )
        return response


def describe_command(command: bytes) -> str:
    """The header and the body's length only: bodies carry PINs (VERIFY, CHANGE) and traces
    must never show them (docs/jpki.md §7); responses carry certificates with personal data."""
    header = command[:4].hex(" ").upper()
    return f"{header} + {max(len(command) - 4, 0)} body bytes"
