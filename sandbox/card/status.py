"""Status words of the virtual JPKI card (ISO/IEC 7816-4 §5.6, docs/jpki.md §1 and §6).

docs/jpki.md §1 confirms only ``9000``, ``63Cx`` and ``6982`` (signing certificate read before the
signing PIN) from real cards. Every other word below is the ISO 7816-4 meaning the document tells
us to assume; the choices that ISO leaves open are written beside the word that carries them.
"""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    """The two status bytes as one big-endian number."""

    OK = 0x9000
    END_OF_FILE = 0x6282
    """READ BINARY: fewer bytes than Ne were left before the end of the EF (data still sent)."""
    WRONG_LENGTH = 0x6700
    """Lc or Le wrong for the command, an APDU too short to parse, an extended-length APDU (the ATR
    advertises none, docs/jpki.md §1), or a DigestInfo over 245 bytes (docs/jpki.md §6.7)."""
    INCOMPATIBLE_FILE = 0x6981
    """READ BINARY on a key or PIN EF: they are not transparent EFs (ISO 7816-4 §11.2.3), so
    their contents can never be read, whatever PIN was verified."""
    SECURITY_NOT_SATISFIED = 0x6982
    """The PIN that guards this key or the signing certificate is not verified."""
    AUTH_BLOCKED = 0x6983
    """VERIFY or CHANGE while the PIN's tries counter is at zero (docs/jpki.md §6.6)."""
    NO_CURRENT_EF = 0x6986
    """No current EF of the kind the command needs: READ BINARY with no EF selected, VERIFY
    without a PIN EF, COMPUTE DIGITAL SIGNATURE without a key EF."""
    WRONG_DATA = 0x6A80
    """CHANGE REFERENCE DATA with a new PIN outside the PIN's format (docs/jpki.md §5)."""
    FILE_NOT_FOUND = 0x6A82
    """An unknown AID or file id; never 9000 for a SELECT we do not hold (docs/jpki.md §6.2)."""
    WRONG_P1P2 = 0x6A86
    OFFSET_OUTSIDE_EF = 0x6B00
    """READ BINARY at an offset at or past the end of the EF."""
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    """A class byte other than 00 and 80, or the wrong one of them for a known instruction."""
    NO_PRECISE_DIAGNOSIS = 0x6F00
    """What a card answers when its own software fails; tests assert we never send it."""

    @property
    def raw(self) -> bytes:
        """The two bytes as the card sends them."""
        return self.value.to_bytes(2, "big")


def tries_left(tries: int) -> bytes:
    """``63Cx``: a wrong PIN, or the bare retry-counter query; x is the tries left (0..15)."""
    return bytes((0x63, 0xC0 | min(max(tries, 0), 15)))


class CardError(Exception):
    """Raised inside a command handler; the card answers the status word and nothing else."""

    def __init__(self, sw: SW | bytes) -> None:
        self.sw = sw.raw if isinstance(sw, SW) else bytes(sw)
        super().__init__(self.sw.hex().upper())
