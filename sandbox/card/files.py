"""The JPKI application's files (docs/jpki.md §1 "JPKI EFs", §6.3).

The card holds one application, the JPKI AP ``D392F000260100000001``, under its MF. Its EFs:

====== =========================== ===================================================
FID    contents                    READ BINARY
====== =========================== ===================================================
0006   token ``JPKIAPICCTOKEN``,   always
       NUL-padded to 32 bytes
000A   authentication certificate  always (no PIN on a card)
000B   its CA certificate          always
0001   signing certificate         only after the signing PIN (else ``6982``)
0002   its CA certificate          always
0017   authentication private key  never (``6981``); COMPUTE DIGITAL SIGNATURE after 0018
0018   authentication PIN          never; VERIFY
001A   signing private key         never; COMPUTE DIGITAL SIGNATURE after 001B
001B   signing PIN                 never; VERIFY
====== =========================== ===================================================

A certificate EF holds the DER certificate and nothing after it: the real EFs' sizes and trailing
bytes are **unconfirmed** (docs/jpki.md §1), and readers are told never to read past the DER length,
so the virtual EF ends there and a read past it gets ``6282``/``6B00``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.profiles import CertKind
from sandbox.state import SandboxState

JPKI_AID = bytes.fromhex("D392F000260100000001")
MF_FID = 0x3F00
TOKEN = b"JPKIAPICCTOKEN".ljust(32, b"\0")
"""EF 0006 of a card (a smartphone's says ``JPKIAPGPSETOKEN``)."""

TOKEN_FID = 0x0006
CERT_FID = {CertKind.AUTH: 0x000A, CertKind.SIGN: 0x0001}
CA_CERT_FID = {CertKind.AUTH: 0x000B, CertKind.SIGN: 0x0002}
KEY_FID = {CertKind.AUTH: 0x0017, CertKind.SIGN: 0x001A}
PIN_FID = {CertKind.AUTH: 0x0018, CertKind.SIGN: 0x001B}


class FileKind(Enum):
    TRANSPARENT = "transparent"
    KEY = "key"
    PIN = "pin"


@dataclass(frozen=True)
class ElementaryFile:
    """One EF. ``guard`` is the PIN whose verification the file's use needs (None: free)."""

    fid: int
    kind: FileKind
    guard: CertKind | None = None
    data: bytes = b""
    key: rsa.RSAPrivateKey | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class CardContents:
    """What the card was personalised with: certificates (DER) and private keys."""

    certificates: dict[CertKind, bytes]
    ca_certificates: dict[CertKind, bytes]
    keys: dict[CertKind, rsa.RSAPrivateKey]

    @classmethod
    def from_state(cls, state: SandboxState, card_id: str) -> CardContents:
        """Load a card's keys and certificates; SandboxError if the card is unknown."""
        der = serialization.Encoding.DER
        return cls(
            certificates={k: state.certificate(card_id, k).public_bytes(der) for k in CertKind},
            ca_certificates={k: _ca_certificate(state, k).public_bytes(der) for k in CertKind},
            keys={k: state.private_key(card_id, k) for k in CertKind},
        )

    def files(self) -> dict[int, ElementaryFile]:
        """The JPKI AP's EFs by file id."""
        transparent = FileKind.TRANSPARENT
        files = [ElementaryFile(TOKEN_FID, transparent, data=TOKEN)]
        for kind in CertKind:
            # The signing certificate carries the basic four facts: signing PIN first (§1).
            guard = CertKind.SIGN if kind is CertKind.SIGN else None
            files += [
                ElementaryFile(CERT_FID[kind], transparent, guard, self.certificates[kind]),
                ElementaryFile(CA_CERT_FID[kind], transparent, data=self.ca_certificates[kind]),
                ElementaryFile(KEY_FID[kind], FileKind.KEY, kind, key=self.keys[kind]),
                ElementaryFile(PIN_FID[kind], FileKind.PIN, kind),
            ]
        return {file.fid: file for file in files}


def _ca_certificate(state: SandboxState, kind: CertKind) -> x509.Certificate:
    # STATE/ca/KIND/ca.pem (sandbox.state's documented layout); state.ca() would also load and
    # check the CA's and the responder's private keys, which the card has no use for.
    return x509.load_pem_x509_certificate((state.root / "ca" / kind / "ca.pem").read_bytes())
