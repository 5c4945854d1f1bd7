"""The JPKI application at the APDU level (docs/jpki.md §1, §6): what a real card answers, and when.

Checks run in the order a card's dispatcher runs them, and the first that fails decides the
status word: APDU too short (``6700``) → class byte (``6E00``) → instruction (``6D00``) → class
right for that instruction (``6E00``) → body shape (``6700``) → the command's own checks, in each
handler's order: P1/P2 (``6A86``), Lc/Le (``6700``), current file (``6A82``/``6986``/``6981``),
security status (``6982``/``6983``), then the work.

Volatile state (what a reset or power-off clears, §6.6): the current DF (MF after reset), the
current EF, and which PINs are verified. Verification survives EF selection and re-selection of
the AP (**unconfirmed** on a real card, kept as OpenSC expects). A failed SELECT leaves the
current file as it was (ISO 7816-4 §11.1.1). The tries counters are not volatile: see ``pins``.

The handlers live beside this module: ``file_commands`` (SELECT, READ BINARY) and
``security_commands`` (VERIFY, CHANGE REFERENCE DATA, COMPUTE DIGITAL SIGNATURE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.card import apdu as apdus
from sandbox.card import file_commands, security_commands
from sandbox.card.apdu import CommandAPDU, Header
from sandbox.card.files import CardContents, ElementaryFile, FileKind
from sandbox.card.pins import PinStore
from sandbox.card.status import SW, CardError
from sandbox.profiles import CertKind

CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80


@dataclass(frozen=True)
class Instruction:
    cla: int
    handler: Callable[[JpkiApplet, CommandAPDU], bytes]


INSTRUCTIONS = {
    0xA4: Instruction(CLA_ISO, file_commands.select),
    0xB0: Instruction(CLA_ISO, file_commands.read_binary),
    0x20: Instruction(CLA_ISO, security_commands.verify),
    0x24: Instruction(CLA_ISO, security_commands.change_reference_data),
    0x2A: Instruction(CLA_PROPRIETARY, security_commands.compute_digital_signature),
}
"""The JPKI AP's commands. COMPUTE DIGITAL SIGNATURE is proprietary (``80 2A 00 80``)."""


class JpkiApplet:
    """One card's JPKI AP: feed it command APDUs, get response APDUs (data + SW1 SW2)."""

    def __init__(self, contents: CardContents, pins: PinStore) -> None:
        self.files = contents.files()
        self.pins = pins
        self.reset()

    def reset(self) -> None:
        """Back to the state after the ATR: MF current, no EF, no PIN verified."""
        self.jpki_selected = False
        self.current: ElementaryFile | None = None
        self.verified: set[CertKind] = set()

    def process(self, raw: bytes) -> bytes:
        try:
            return self._dispatch(raw)
        except CardError as error:
            return error.sw

    def _dispatch(self, raw: bytes) -> bytes:
        header = Header.parse(raw)
        if header.cla not in (CLA_ISO, CLA_PROPRIETARY):
            raise CardError(SW.CLA_NOT_SUPPORTED)
        instruction = INSTRUCTIONS.get(header.ins)
        if instruction is None:
            raise CardError(SW.INS_NOT_SUPPORTED)
        if header.cla != instruction.cla:
            raise CardError(SW.CLA_NOT_SUPPORTED)
        return instruction.handler(self, apdus.parse(raw))

    def current_file(self, kind: FileKind) -> ElementaryFile:
        """The current EF if the command may use it; else the status word that says why not."""
        if self.current is None:
            raise CardError(SW.NO_CURRENT_EF)
        if self.current.kind is kind:
            return self.current
        if kind is FileKind.TRANSPARENT:
            raise CardError(SW.INCOMPATIBLE_FILE)  # reading a key or PIN EF: never
        raise CardError(SW.NO_CURRENT_EF)  # VERIFY without a PIN EF, signing without a key EF
