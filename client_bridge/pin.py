"""The two JPKI PINs: their formats, and a holder that forgets the PIN when the operation ends.

docs/jpki.md §5: the user-authentication PIN is 4 digits (3 tries), the signing password 6-16 of A-Z
and 0-9 (5 tries), both sent as plain ASCII; the signing password is upper-cased first. A PIN of
the wrong shape is refused here, before the card sees it, so no try is spent on a typo.

Python cannot promise that no copy of a string survives in memory; :class:`Pin` keeps the only copy
we make in a ``bytearray`` and zeroes it on exit, and nothing stores or logs it (docs/jpki.md §7).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from client_bridge import errors


class KeyKind(StrEnum):
    """Which of the card's two keys (and so which PIN) an operation uses."""

    AUTH = "auth"
    SIGN = "sign"


FORMATS = {
    KeyKind.AUTH: re.compile(r"[0-9]{4}"),
    KeyKind.SIGN: re.compile(r"[A-Z0-9]{6,16}"),
}


class Pin:
    """A PIN for one key, valid in shape, held until :meth:`wipe` (or the ``with`` block ends)."""

    def __init__(self, kind: KeyKind, typed: str) -> None:
        # NFKC turns full-width digits and letters typed through a Japanese IME into ASCII.
        text = unicodedata.normalize("NFKC", typed).strip()
        if kind is KeyKind.SIGN:
            text = text.upper()
        if not FORMATS[kind].fullmatch(text):
            raise errors.PinFormat(f"{kind} PIN of the wrong format")
        self.kind = kind
        self._value = bytearray(text.encode("ascii"))

    @property
    def value(self) -> bytearray:
        if not self._value:
            raise RuntimeError("this PIN was already wiped")
        return self._value

    def wipe(self) -> None:
        """Zero our copy; the object cannot be used again."""
        for index in range(len(self._value)):
            self._value[index] = 0
        self._value = bytearray()

    def __enter__(self) -> Pin:
        return self

    def __exit__(self, *_: object) -> None:
        self.wipe()

    def __repr__(self) -> str:
        return f"Pin({self.kind}, <redacted>)"


class Pins:
    """The PINs one operation needs, by key: one, or both for a two-key operation
    (bridge-protocol.md §9). Wiped together; the ``with`` block wipes them all."""

    def __init__(self, *pins: Pin) -> None:
        self._pins = {pin.kind: pin for pin in pins}

    @classmethod
    def of(cls, given: Pin | Pins) -> Pins:
        return given if isinstance(given, Pins) else cls(given)

    @property
    def kinds(self) -> frozenset[KeyKind]:
        return frozenset(self._pins)

    def __getitem__(self, kind: KeyKind) -> Pin:
        return self._pins[kind]

    def wipe(self) -> None:
        for pin in self._pins.values():
            pin.wipe()

    def __enter__(self) -> Pins:
        return self

    def __exit__(self, *_: object) -> None:
        self.wipe()

    def __repr__(self) -> str:
        return f"Pins({', '.join(sorted(self._pins))}, <redacted>)"
