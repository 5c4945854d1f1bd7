"""The origin-bound signed value and the result JSON of docs/bridge-protocol.md (v1).

The card signs SHA-256 DigestInfo(SHA-256(SHA-256(origin) || SHA-256(challenge))). The origin is
the ``Origin`` header the browser sent with the request, never a value from the request body, so a
page can only obtain signatures bound to its own origin: a phishing page's signature fails at the
IdP, which recomputes the value with its own origin.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from client_bridge import errors

VERSION = 1
FORMAT = "jpki-origin-challenge-v1"
"""Names the signed-value construction below (bridge-protocol.md §4)."""
ALGORITHM = "RS256"
"""RSASSA-PKCS1-v1_5 with SHA-256 over the signed value (RFC 7518 §3.3 name)."""
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
"""DER of DigestInfo{sha256, NULL} up to the 32-byte digest (RFC 8017 §9.2 note 1)."""
CHALLENGE_BYTES = 32
SERVICE_MAX = 80


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), the encoding of every binary field."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_challenge(text: object) -> bytes:
    """The IdP's one-time challenge: exactly 32 bytes as 43 canonical base64url characters."""
    if not isinstance(text, str) or not text.isascii():
        raise errors.BadRequest("the challenge must be a base64url string")
    try:
        challenge = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("the challenge is not base64url") from None
    if len(challenge) != CHALLENGE_BYTES or b64url(challenge) != text:
        raise errors.BadRequest("the challenge must be 32 bytes in canonical base64url")
    return challenge


def parse_service(text: object) -> str:
    """The service's display name the page states; shown as the page's claim, never trusted."""
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= SERVICE_MAX:
        raise errors.BadRequest(f"service must be a name of 1-{SERVICE_MAX} characters")
    if not text.isprintable():
        raise errors.BadRequest("service must be printable text")
    return text.strip()


def signed_value(origin: str, challenge: bytes) -> bytes:
    """SHA-256(origin as UTF-8) || SHA-256(challenge): 64 bytes (docs/bridge-protocol.md)."""
    return hashlib.sha256(origin.encode("utf-8")).digest() + hashlib.sha256(challenge).digest()


def digest_info(origin: str, challenge: bytes) -> bytes:
    """The 51 bytes sent to COMPUTE DIGITAL SIGNATURE; the card adds the PKCS#1 v1.5 padding."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(signed_value(origin, challenge)).digest()


@dataclass(frozen=True)
class SignatureResult:
    """What the page receives and posts to the IdP unchanged (bridge-protocol.md §5).

    ``origin`` and ``challenge`` are echoes that let the IdP explain a refusal; it verifies with
    its own origin and the challenge it stored, never with these.
    """

    purpose: str
    origin: str
    challenge: bytes
    certificate: bytes
    signature: bytes

    def to_json(self) -> dict[str, str | int]:
        return {
            "version": VERSION,
            "purpose": self.purpose,
            "origin": self.origin,
            "challenge": b64url(self.challenge),
            "certificate": b64url(self.certificate),
            "signature": b64url(self.signature),
            "algorithm": ALGORITHM,
            "format": FORMAT,
        }
