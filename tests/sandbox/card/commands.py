"""Command APDUs as OpenSC's jpki driver and the bridge send them (docs/jpki.md §1), for the
tests."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from sandbox.card.files import JPKI_AID

SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
OK = bytes.fromhex("9000")


def sw(response: bytes) -> str:
    """The status word as upper-case hex, e.g. ``"9000"``: assertions read like docs/jpki.md."""
    return response[-2:].hex().upper()


def data(response: bytes) -> bytes:
    return response[:-2]


def select_aid(aid: bytes = JPKI_AID, p2: int = 0x0C) -> bytes:
    return bytes((0x00, 0xA4, 0x04, p2, len(aid))) + aid


def select_ef(fid: int, p2: int = 0x0C) -> bytes:
    return bytes((0x00, 0xA4, 0x02, p2, 0x02)) + fid.to_bytes(2, "big")


def read_binary(offset: int, le: int) -> bytes:
    return bytes((0x00, 0xB0)) + offset.to_bytes(2, "big") + bytes((le % 256,))


def verify(pin: bytes | str | None = None) -> bytes:
    """VERIFY of the current PIN EF; no PIN: the bare retry-counter query ``00 20 00 80``."""
    if pin is None:
        return bytes.fromhex("00200080")
    body = pin.encode("ascii") if isinstance(pin, str) else pin
    return bytes.fromhex("00200080") + bytes((len(body),)) + body


def change_pin(new_pin: str) -> bytes:
    body = new_pin.encode("ascii")
    return bytes.fromhex("00240180") + bytes((len(body),)) + body


def digest_info(message: bytes = b"hello") -> bytes:
    """The SHA-256 DigestInfo of ``message`` (51 bytes), as OpenSC builds it for the card."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(message)
    return SHA256_PREFIX + digest.finalize()


def sign(di: bytes, le: int | None = 0) -> bytes:
    command = bytes.fromhex("802A0080") + bytes((len(di),)) + di
    return command if le is None else command + bytes((le,))


def read_file(card_transmit, size_hint: int | None = None) -> bytes:
    """Read the current EF as OpenSC does: 4 bytes for the DER length, then Le=00 chunks."""
    head = card_transmit(read_binary(0, 4))
    assert sw(head) == "9000", sw(head)
    size = size_hint or (head[2] << 8 | head[3]) + 4
    out = b""
    while len(out) < size:
        chunk = card_transmit(read_binary(len(out), min(size - len(out), 256)))
        assert sw(chunk) == "9000", sw(chunk)
        out += data(chunk)
    return out
