"""The JPKI application's commands, and nothing else on the card (docs/jpki.md §1, §7).

Only the JPKI AP (``D392F000260100000001``) is ever selected; only its certificate, key and PIN EFs
(0001/000A, 0017/001A, 0018/001B) are touched. The card-info AP holds the My Number and is off
limits: there is no code here that could name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from client_bridge import errors
from client_bridge.apdu import SHORT_MAX, Response, Transport, command, exchange
from client_bridge.pin import KeyKind, Pin

JPKI_AID = bytes.fromhex("D392F000260100000001")
SW_OK = 0x9000
SW_SECURITY = 0x6982
SW_BLOCKED = 0x6983
SW_END_OF_FILE = 0x6282
CERTIFICATE_MIN = 64
"""Smaller than any X.509 certificate: a length this short means the EF is something else."""
CERTIFICATE_MAX = 0x7FFF
"""READ BINARY offsets are 15 bits; a JPKI certificate is about 1.5 kB."""
SIGNATURE_LENGTH = 256
"""RSA-2048 (docs/jpki.md §2)."""


@dataclass(frozen=True)
class KeySlot:
    """The EFs that belong to one key (docs/jpki.md §1)."""

    certificate: int
    key: int
    pin: int


SLOTS = {
    KeyKind.AUTH: KeySlot(certificate=0x000A, key=0x0017, pin=0x0018),
    KeyKind.SIGN: KeySlot(certificate=0x0001, key=0x001A, pin=0x001B),
}


class JpkiCard:
    """A card reached through ``transport``; every method fails with a :mod:`errors` class."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _send(self, apdu: bytes | bytearray) -> Response:
        return exchange(self.transport, bytes(apdu))

    def select_application(self) -> None:
        """SELECT the JPKI AP; anything but 9000 means this is not a My Number Card."""
        response = self._send(command(0x00, 0xA4, 0x04, 0x0C, JPKI_AID))
        if not response.ok:
            raise errors.NotJpkiCard(f"SELECT JPKI AP: SW {response.sw:04X}")

    def _select_ef(self, fid: int) -> None:
        response = self._send(command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
        if not response.ok:
            raise errors.CardError(f"SELECT EF {fid:04X}: SW {response.sw:04X}")

    def has_certificate(self, kind: KeyKind) -> bool:
        """Whether the certificate EF exists; SELECT only, so no PIN is needed (status)."""
        response = self._send(
            command(0x00, 0xA4, 0x02, 0x0C, SLOTS[kind].certificate.to_bytes(2, "big"))
        )
        return response.ok

    def _read(self, offset: int, length: int) -> bytes:
        apdu = command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)
        response = self._send(apdu)
        if response.sw == SW_SECURITY:
            raise errors.PinRequired("READ BINARY: the PIN must be verified first")
        if response.sw not in (SW_OK, SW_END_OF_FILE) or not response.data:
            raise errors.CardError(f"READ BINARY at {offset}: SW {response.sw:04X}")
        return response.data[:length]

    def read_certificate(self, kind: KeyKind) -> bytes:
        """The DER certificate: 4 bytes for its length, then chunks of at most 256, no further."""
        self._select_ef(SLOTS[kind].certificate)
        der = self._read(0, 4)
        total = der_length(der)
        while len(der) < total:
            der += self._read(len(der), min(SHORT_MAX, total - len(der)))
        return der

    def tries_left(self, kind: KeyKind) -> int | None:
        """The retry counter (bare VERIFY); None if the card says it is already verified."""
        self._select_ef(SLOTS[kind].pin)
        response = self._send(command(0x00, 0x20, 0x00, 0x80))
        if response.sw == SW_BLOCKED:
            return 0
        if response.sw >> 4 == 0x63C:
            return response.sw & 0x0F
        if response.ok:
            return None
        raise errors.CardError(f"retry counter: SW {response.sw:04X}")

    def verify(self, pin: Pin) -> None:
        """VERIFY the PIN of ``pin.kind``'s own EF, once: the bridge never retries by itself."""
        self._select_ef(SLOTS[pin.kind].pin)
        apdu = bytearray((0x00, 0x20, 0x00, 0x80, len(pin.value))) + pin.value
        try:
            response = self._send(apdu)
        finally:
            apdu[:] = bytes(len(apdu))
        if response.ok:
            return
        if response.sw == SW_BLOCKED or response.sw == 0x63C0:
            raise errors.PinLocked(f"VERIFY: SW {response.sw:04X}")
        if response.sw >> 4 == 0x63C:
            raise errors.WrongPin(response.sw & 0x0F)
        raise errors.CardError(f"VERIFY: SW {response.sw:04X}")

    def sign(self, kind: KeyKind, digest_info: bytes) -> bytes:
        """COMPUTE DIGITAL SIGNATURE (``80 2A 00 80``): the card pads PKCS#1 v1.5 itself."""
        self._select_ef(SLOTS[kind].key)
        response = self._send(command(0x80, 0x2A, 0x00, 0x80, digest_info, le=SHORT_MAX))
        if response.sw == SW_SECURITY:
            raise errors.PinRequired("COMPUTE DIGITAL SIGNATURE: PIN not verified")
        if not response.ok or len(response.data) != SIGNATURE_LENGTH:
            raise errors.CardError(
                f"COMPUTE DIGITAL SIGNATURE: SW {response.sw:04X}, {len(response.data)} bytes"
            )
        return response.data


def der_length(head: bytes) -> int:
    """Total size of the DER SEQUENCE whose first bytes are ``head`` (tag + length + content)."""
    if len(head) < 4 or head[0] != 0x30:
        raise errors.CardError("the certificate EF does not start with a DER SEQUENCE")
    first = head[1]
    if first < 0x80:
        total = 2 + first
    elif first == 0x81:
        total = 3 + head[2]
    elif first == 0x82:
        total = 4 + (head[2] << 8 | head[3])
    else:
        raise errors.CardError("the certificate's DER length is not one we read")
    if not CERTIFICATE_MIN <= total <= CERTIFICATE_MAX:
        raise errors.CardError(f"implausible certificate size {total}")
    return total
