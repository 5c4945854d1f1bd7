"""Command APDUs as ISO/IEC 7816-3 §12.1 encodes them, short form only (docs/jpki.md §1).

A command is ``CLA INS P1 P2`` followed by one of four bodies:

====== ======================= ==========================
case   body                    meaning
====== ======================= ==========================
1      (none)                  no data, no data expected
2      ``Le``                  Ne = Le, 00 meaning 256
3      ``Lc data``             Nc = Lc (01..FF) bytes
4      ``Lc data Le``          both
====== ======================= ==========================

An ``00`` in the Lc position of a longer APDU starts an extended-length field. The card's ATR
advertises no extended length and OpenSC never sends it (docs/jpki.md §1, **unconfirmed**: we treat
it as unsupported), so such APDUs, bodies whose length disagrees with Lc, and anything shorter than
four bytes are malformed: :func:`parse` raises :class:`MalformedAPDU`.

The card checks the class and instruction bytes before the body's shape (:meth:`Header`), as a
card's dispatcher does: a probe with an unknown CLA gets ``6E00`` even if its body is odd.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.card.status import SW, CardError

HEADER_LENGTH = 4
SHORT_LE_MAX = 256


class MalformedAPDU(CardError):
    """The bytes are not a short command APDU; the card answers ``6700``."""

    def __init__(self) -> None:
        super().__init__(SW.WRONG_LENGTH)


@dataclass(frozen=True)
class Header:
    cla: int
    ins: int
    p1: int
    p2: int

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        if len(raw) < HEADER_LENGTH:
            raise MalformedAPDU
        return cls(raw[0], raw[1], raw[2], raw[3])


@dataclass(frozen=True)
class CommandAPDU:
    """One parsed command. ``ne`` is None when the command carries no Le (cases 1 and 3)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    ne: int | None = None

    @property
    def case(self) -> int:
        return 1 + (self.ne is not None) + 2 * bool(self.data)

    @property
    def p1p2(self) -> int:
        return self.p1 << 8 | self.p2

    def to_bytes(self) -> bytes:
        """The short encoding; used by tests and the transports' traces."""
        body = b""
        if self.data:
            body += bytes((len(self.data),)) + self.data
        if self.ne is not None:
            body += bytes((self.ne % SHORT_LE_MAX,))
        return bytes((self.cla, self.ins, self.p1, self.p2)) + body


def parse(raw: bytes) -> CommandAPDU:
    """Split a short command APDU; raise :class:`MalformedAPDU` for anything else."""
    header = Header.parse(raw)
    body = raw[HEADER_LENGTH:]
    data, ne = _split_body(body)
    return CommandAPDU(header.cla, header.ins, header.p1, header.p2, data, ne)


def _split_body(body: bytes) -> tuple[bytes, int | None]:
    if not body:
        return b"", None  # case 1
    if len(body) == 1:
        return b"", body[0] or SHORT_LE_MAX  # case 2
    lc = body[0]
    if lc == 0:
        raise MalformedAPDU  # extended length: not supported (module docstring)
    if len(body) == 1 + lc:
        return body[1:], None  # case 3
    if len(body) == 2 + lc:
        return body[1:-1], body[-1] or SHORT_LE_MAX  # case 4
    raise MalformedAPDU  # Lc disagrees with the body
