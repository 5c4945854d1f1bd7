"""Private keys encrypted at rest with a key derived from the configured secret.

AES-256-GCM under a key from HKDF-SHA256(secret_key, info=purpose). The key id is the associated
data, so a sealed blob moved to another row does not open. The secret must stay the same for the
life of the deployment's keys: changing it makes existing signing keys unreadable (``idp keys
rotate`` cannot recover them; a fresh ring must be generated).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
VERSION = b"\x01"


class SealError(ValueError):
    """A sealed value does not open: wrong secret, wrong key id, or tampering."""


def derive_key(secret: str, purpose: bytes) -> bytes:
    """A 256-bit key for one ``purpose``, so uses of the secret never share key material."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jpki-idp", info=purpose)
    return hkdf.derive(secret.encode())


class Sealer:
    """Seals and opens byte strings bound to a label (the key id)."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(derive_key(secret, b"signing-key-at-rest"))

    def seal(self, plaintext: bytes, label: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, label.encode())

    def open(self, sealed: bytes, label: str) -> bytes:
        if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
            raise SealError("unknown sealed-key format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, label.encode())
        except InvalidTag:
            raise SealError(f"key {label} does not open with the configured secret") from None
