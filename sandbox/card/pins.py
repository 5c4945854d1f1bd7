"""The card's two PINs: their reference data and tries counters (docs/jpki.md §5, §6.4, §6.6).

The counters live outside the card's volatile state: they survive a reset, a removal and a
restart of ``jpki-sandbox insert``, as a real card's EEPROM does. :class:`StatePins` keeps them in
the card's ``card.json`` through :meth:`SandboxState.save_card`, read fresh for every command so
that two card objects of the same card (a test's, or a restarted process's) never disagree.

A counter is written before the card answers: pulling the card after a wrong PIN cannot win a
try back.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Protocol

from sandbox.profiles import CertKind
from sandbox.state import (
    PIN_TRIES,
    SandboxError,
    SandboxState,
    check_auth_pin,
    check_sign_pin,
    hash_pin,
)


class PinStore(Protocol):
    def tries_left(self, kind: CertKind) -> int: ...

    def matches(self, kind: CertKind, pin: str) -> bool: ...

    def set_tries_left(self, kind: CertKind, tries: int) -> None: ...

    def change(self, kind: CertKind, pin: str) -> None: ...


def decode_pin(data: bytes) -> str | None:
    """A PIN is plain ASCII with no padding (docs/jpki.md §5); anything else can never match.

    The card compares the bytes as sent: a lower-case signing password does not match an
    upper-case one (clients upper-case it before sending, as myna does).
    """
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return None


def valid_new_pin(kind: CertKind, pin: str) -> bool:
    """The format the card enforces for a new PIN: 4 digits, or 6-16 of A-Z and 0-9."""
    check = check_auth_pin if kind is CertKind.AUTH else check_sign_pin
    try:
        check(pin)
    except SandboxError:
        return False
    return True


class StatePins:
    """PINs and counters of one card in a sandbox state directory."""

    def __init__(self, state: SandboxState, card_id: str) -> None:
        self.state = state
        self.card_id = card_id
        state.card(card_id)  # SandboxError now, rather than at the first VERIFY

    def tries_left(self, kind: CertKind) -> int:
        return self.state.card(self.card_id).tries_left[kind]

    def matches(self, kind: CertKind, pin: str) -> bool:
        return self.state.card(self.card_id).pin_matches(kind, pin)

    def set_tries_left(self, kind: CertKind, tries: int) -> None:
        record = self.state.card(self.card_id)
        if record.tries_left[kind] != tries:
            record.tries_left[kind] = tries
            self.state.save_card(record)

    def change(self, kind: CertKind, pin: str) -> None:
        record = self.state.card(self.card_id)
        record.pin_hashes[kind] = hash_pin(pin, bytes.fromhex(record.pin_salt))
        self.state.save_card(record)


@dataclass
class MemoryPins:
    """PINs in memory, for unit tests of the APDU model that need no state directory."""

    pins: dict[CertKind, str]
    tries: dict[CertKind, int] = field(default_factory=lambda: dict(PIN_TRIES))

    def tries_left(self, kind: CertKind) -> int:
        return self.tries[kind]

    def matches(self, kind: CertKind, pin: str) -> bool:
        return hmac.compare_digest(self.pins[kind].encode(), pin.encode())

    def set_tries_left(self, kind: CertKind, tries: int) -> None:
        self.tries[kind] = tries

    def change(self, kind: CertKind, pin: str) -> None:
        self.pins[kind] = pin
