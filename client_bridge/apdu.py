"""Short command APDUs, their responses, and the T=0 answers a reader may pass back (ISO 7816-3/4).

The bridge sends short APDUs only: the card advertises no extended length (docs/jpki.md §1). Under
T=0 a card may answer ``61xx`` (xx more bytes wait for GET RESPONSE) or ``6Cxx`` (resend with
Le = xx); :func:`exchange` follows both, so the card layer sees one answer whatever the protocol.
Traces never show a VERIFY or CHANGE body: those carry PINs (docs/jpki.md §7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

SHORT_MAX = 256
INS_VERIFY = 0x20
INS_CHANGE = 0x24
INS_GET_RESPONSE = 0xC0
SECRET_INSTRUCTIONS = frozenset({INS_VERIFY, INS_CHANGE})
MAX_GET_RESPONSE = 64
"""A card that keeps answering 61xx past this many rounds is broken; stop instead of looping."""


class Transport(Protocol):
    """Bytes to a card and back: PC/SC in the bridge, an in-process card in unit tests."""

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU, return the response (data, SW1, SW2)."""
        ...


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ValueError("a response APDU has at least two status bytes")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))


def command(
    cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
) -> bytes:
    """Encode a short command APDU; ``le`` 1..256 (256 is sent as 00)."""
    if len(data) >= SHORT_MAX:
        raise ValueError("command data too long for a short APDU")
    if le is not None and not 1 <= le <= SHORT_MAX:
        raise ValueError("Le must be 1..256")
    body = bytes((len(data),)) + bytes(data) if data else b""
    if le is not None:
        body += bytes((le % SHORT_MAX,))
    return bytes((cla, ins, p1, p2)) + body


def describe(apdu: bytes) -> str:
    """A trace line: the header, and the body only for commands that carry no secret."""
    header = apdu[:4].hex(" ").upper()
    if len(apdu) > 1 and apdu[1] in SECRET_INSTRUCTIONS:
        return f"{header} [{max(len(apdu) - 4, 0)} bytes redacted]"
    return f"{header} {apdu[4:].hex(' ').upper()}".rstrip()


def _resendable(apdu: bytes) -> bool:
    """Only a command that ends in Le may be resent with another Le, and never one carrying a
    PIN: resending a VERIFY would spend a try the citizen did not choose to spend."""
    if len(apdu) < 5 or apdu[1] in SECRET_INSTRUCTIONS:
        return False
    return len(apdu) == 5 or len(apdu) == 6 + apdu[4]


def exchange(transport: Transport, apdu: bytes) -> Response:
    """Send ``apdu``; follow ``6Cxx`` once and chain ``61xx`` GET RESPONSEs (T=0)."""
    log.debug("-> %s", describe(apdu))
    response = Response.parse(transport.transmit(apdu))
    if response.sw >> 8 == 0x6C and _resendable(apdu):
        corrected = apdu[:-1] + bytes((response.sw & 0xFF,))
        response = Response.parse(transport.transmit(corrected))
    data = response.data
    for _ in range(MAX_GET_RESPONSE):
        if response.sw >> 8 != 0x61:
            break
        more = command(0x00, INS_GET_RESPONSE, 0, 0, le=(response.sw & 0xFF) or SHORT_MAX)
        response = Response.parse(transport.transmit(more))
        data += response.data
    log.debug("<- %d bytes, SW %04X", len(data), response.sw)
    return Response(data, response.sw)
