"""SELECT (ISO 7816-4 §11.1.1) and READ BINARY (§11.2.3) of the JPKI AP (docs/jpki.md §1, §6.3,
§6.5).

SELECT: ``P1=04`` by AID (only the JPKI AP's, exactly), ``P1=02`` an EF of the AP by file id,
``P1=00`` the MF (``3F00`` or no data) or an EF by file id; ``P2=0C`` answers no data, ``P2=00``
an FCI when Le is present (its contents are **unconfirmed** on a real card: DF name, or file id,
size and a transparent-EF descriptor).

READ BINARY: offsets in P1-P2 (15 bits; short EF identifiers are not supported), Le=00 meaning
256. Fewer bytes left than Ne: the rest with ``6282``; an offset at or past the end: ``6B00``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.card.apdu import CommandAPDU
from sandbox.card.files import JPKI_AID, MF_FID, FileKind
from sandbox.card.status import SW, CardError

if TYPE_CHECKING:
    from sandbox.card.applet import JpkiApplet

P2_FCI = 0x00
P2_NO_RESPONSE = 0x0C


def select(card: JpkiApplet, command: CommandAPDU) -> bytes:
    if command.p2 not in (P2_FCI, P2_NO_RESPONSE):
        raise CardError(SW.WRONG_P1P2)
    if command.p1 == 0x04:
        _select_application(card, command.data)
    elif command.p1 == 0x02:
        _select_ef(card, _file_id(command.data))
    elif command.p1 == 0x00:
        fid = _file_id(command.data) if command.data else MF_FID
        if fid == MF_FID:
            card.jpki_selected, card.current = False, None
        else:
            _select_ef(card, fid)
    else:
        raise CardError(SW.WRONG_P1P2)
    if command.p2 == P2_FCI and command.ne is not None:
        fci = _fci(card)
        if len(fci) > command.ne:
            raise CardError(SW.WRONG_LENGTH)
        return fci + SW.OK.raw
    return SW.OK.raw


def read_binary(card: JpkiApplet, command: CommandAPDU) -> bytes:
    if command.p1 & 0x80:  # short EF identifier in P1: not supported
        raise CardError(SW.WRONG_P1P2)
    if command.data or command.ne is None:
        raise CardError(SW.WRONG_LENGTH)
    file = card.current_file(FileKind.TRANSPARENT)
    if file.guard is not None and file.guard not in card.verified:
        raise CardError(SW.SECURITY_NOT_SATISFIED)  # 0001 before the signing PIN
    offset = command.p1p2
    if offset >= file.size:
        raise CardError(SW.OFFSET_OUTSIDE_EF)
    chunk = file.data[offset : offset + command.ne]
    return chunk + (SW.OK if len(chunk) == command.ne else SW.END_OF_FILE).raw


def _select_application(card: JpkiApplet, aid: bytes) -> None:
    # Exact match only: the card holds nothing but the JPKI AP (docs/jpki.md §6.9), and an earlier
    # OpenSC driver's probe must never get 9000 (§6.2).
    if aid != JPKI_AID:
        raise CardError(SW.FILE_NOT_FOUND)
    card.jpki_selected, card.current = True, None


def _select_ef(card: JpkiApplet, fid: int) -> None:
    file = card.files.get(fid) if card.jpki_selected else None
    if file is None:  # unknown, or the MF is current: its EFs are the AP's
        raise CardError(SW.FILE_NOT_FOUND)
    card.current = file


def _file_id(data: bytes) -> int:
    if len(data) != 2:
        raise CardError(SW.WRONG_LENGTH)
    return int.from_bytes(data, "big")


def _fci(card: JpkiApplet) -> bytes:
    if card.current is None:
        body = _tlv(0x84, JPKI_AID) if card.jpki_selected else _tlv(0x83, MF_FID.to_bytes(2, "big"))
    else:
        body = _tlv(0x83, card.current.fid.to_bytes(2, "big"))
        if card.current.kind is FileKind.TRANSPARENT:
            body += _tlv(0x80, card.current.size.to_bytes(2, "big")) + _tlv(0x82, b"\x01")
    return _tlv(0x6F, body)


def _tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag, len(value))) + value
