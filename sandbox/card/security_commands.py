"""VERIFY, CHANGE REFERENCE DATA and COMPUTE DIGITAL SIGNATURE (docs/jpki.md §1, §5, §6.4, §6.6,
§6.7).

VERIFY (``00 20 00 80``) works on the current PIN EF (0018 or 001B). With a PIN: right → ``9000``
and the counter back to its maximum; wrong → ``63Cx`` with one try fewer, written before the
answer leaves the card, and the PIN no longer verified; counter at zero → ``6983``. Without a PIN
it is the retry-counter query: ``63Cx`` always, verified or blocked (``63C0``), because OpenSC's
jpki driver refuses the token unless SW1 is 63 (§6.4, a compatibility choice). A PIN of any
length or content that does not match is a wrong PIN and costs a try: how a real card treats a
malformed PIN is **unconfirmed**, and counting it gives a guesser nothing for free.

COMPUTE DIGITAL SIGNATURE (``80 2A 00 80 Lc DigestInfo 00``) signs with the current key EF
(0017 or 001A) once that key's PIN is verified; the verification is not used up by signing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.card.apdu import CommandAPDU
from sandbox.card.files import FileKind
from sandbox.card.pins import decode_pin, valid_new_pin
from sandbox.card.signing import MAX_DIGEST_INFO, sign_digest_info
from sandbox.card.status import SW, CardError, tries_left
from sandbox.profiles import CertKind
from sandbox.state import PIN_TRIES

if TYPE_CHECKING:
    from sandbox.card.applet import JpkiApplet

P2_PIN_REFERENCE = 0x80
"""VERIFY/CHANGE ``P2=80``: the PIN of the current PIN EF (docs/jpki.md §1)."""
SIGNATURE_LENGTH = 256


def verify(card: JpkiApplet, command: CommandAPDU) -> bytes:
    if command.p1 != 0x00 or command.p2 != P2_PIN_REFERENCE:
        raise CardError(SW.WRONG_P1P2)
    if command.ne is not None:
        raise CardError(SW.WRONG_LENGTH)
    kind = _pin_of_current(card)
    tries = card.pins.tries_left(kind)
    if not command.data:
        return tries_left(tries)
    if tries == 0:
        raise CardError(SW.AUTH_BLOCKED)
    pin = decode_pin(command.data)
    if pin is not None and card.pins.matches(kind, pin):
        card.pins.set_tries_left(kind, PIN_TRIES[kind])
        card.verified.add(kind)
        return SW.OK.raw
    card.verified.discard(kind)
    card.pins.set_tries_left(kind, tries - 1)
    return tries_left(tries - 1)


def change_reference_data(card: JpkiApplet, command: CommandAPDU) -> bytes:
    """``00 24 01 80 Lc <new PIN>`` after VERIFY (docs/jpki.md §1, **unconfirmed**); P1=00 (old and
    new PIN in the data) is not supported."""
    if command.p1 != 0x01 or command.p2 != P2_PIN_REFERENCE:
        raise CardError(SW.WRONG_P1P2)
    if not command.data or command.ne is not None:
        raise CardError(SW.WRONG_LENGTH)
    kind = _pin_of_current(card)
    if card.pins.tries_left(kind) == 0:
        raise CardError(SW.AUTH_BLOCKED)
    if kind not in card.verified:
        raise CardError(SW.SECURITY_NOT_SATISFIED)
    pin = decode_pin(command.data)
    if pin is None or not valid_new_pin(kind, pin):
        raise CardError(SW.WRONG_DATA)
    card.pins.change(kind, pin)
    return SW.OK.raw


def compute_digital_signature(card: JpkiApplet, command: CommandAPDU) -> bytes:
    if command.p1 != 0x00 or command.p2 != 0x80:
        raise CardError(SW.WRONG_P1P2)
    if not command.data or len(command.data) > MAX_DIGEST_INFO:
        raise CardError(SW.WRONG_LENGTH)
    if command.ne != SIGNATURE_LENGTH:  # the answer is 256 bytes: Le must be 00 (docs/jpki.md §1)
        raise CardError(SW.WRONG_LENGTH)
    file = card.current_file(FileKind.KEY)
    if file.guard not in card.verified:
        raise CardError(SW.SECURITY_NOT_SATISFIED)
    if file.key is None:  # every key EF holds its key; this keeps the type checker honest
        raise CardError(SW.NO_CURRENT_EF)
    return sign_digest_info(file.key, command.data) + SW.OK.raw


def _pin_of_current(card: JpkiApplet) -> CertKind:
    file = card.current_file(FileKind.PIN)
    if file.guard is None:  # every PIN EF names its PIN
        raise CardError(SW.NO_CURRENT_EF)
    return file.guard
