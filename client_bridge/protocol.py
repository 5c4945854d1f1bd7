"""The origin-bound signed value and the result JSON of docs/bridge-protocol.md (v1).

The card signs SHA-256 DigestInfo(SHA-256(SHA-256(origin) || SHA-256(challenge))). The origin is
the ``Origin`` header the browser sent with the request, never a value from the request body, so a
page can only obtain signatures bound to its own origin: a phishing page's signature fails at the
IdP, which recomputes the value with its own origin.

Document signing (bridge-protocol.md §8) signs DigestInfo(SHA-256, digest) for a digest the IdP
computed (for CMS, of the DER signedAttrs), so the signature fits a standard CMS/PAdES container;
what binds it to the request is the allow-list, the bridge's own screen and the result's echoes.

Version 2 (bridge-protocol.md §9) adds the two-key operation for identity verification and
documents: in one card session the authentication key signs the origin-bound value of the
challenge (for a document: of the digest) and the signing key signs as in version 1, so the IdP
can check that the signing key is on the card the citizen logged in with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from client_bridge import errors

VERSION = 1
PAIR_VERSION = 2
VERSIONS = (VERSION, PAIR_VERSION)
"""The versions a page may ask for; 2 only for the two-key operation at ``/v1/sign``."""
FORMAT = "jpki-origin-challenge-v1"
"""Names the signed-value construction below (bridge-protocol.md §4)."""
ALGORITHM = "RS256"
"""RSASSA-PKCS1-v1_5 with SHA-256 over the signed value (RFC 7518 §3.3 name)."""
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
"""DER of DigestInfo{sha256, NULL} up to the 32-byte digest (RFC 8017 §9.2 note 1)."""
DOCUMENT_PURPOSE = "document"
DOCUMENT_FORMAT = "jpki-sha256-digest-v1"
"""Names the document construction: the card signs DigestInfo(SHA-256, digest) exactly (§8)."""
PAIR_FORMAT = "jpki-origin-challenge-pair-v2"
"""Both keys sign the origin-bound value of the challenge (§9)."""
DOCUMENT_PAIR_FORMAT = "jpki-sha256-digest-pair-v2"
"""The signing key signs the digest as in §8; the authentication key signs the origin-bound
value with the digest in the challenge's place (§9)."""
CHALLENGE_BYTES = 32
DIGEST_BYTES = 32
SERVICE_MAX = 80
TITLE_MAX = 100
SUMMARY_MAX = 500
FINGERPRINT_BYTES = 8
"""64 bits of the digest shown to the citizen: enough that no one can make another document
whose fingerprint matches the one the IdP's review page showed (a second preimage)."""
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned and line
or paragraph separators: each could make the text on the PIN screen differ from what it seems."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), the encoding of every binary field."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _parse_32_bytes(text: object, field: str) -> bytes:
    """Exactly 32 bytes as 43 canonical base64url characters (bridge-protocol.md §2)."""
    if not isinstance(text, str) or not text.isascii():
        raise errors.BadRequest(f"the {field} must be a base64url string", field=field)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest(f"the {field} is not base64url", field=field) from None
    if len(raw) != DIGEST_BYTES or b64url(raw) != text:
        raise errors.BadRequest(f"the {field} must be 32 bytes in canonical base64url", field=field)
    return raw


def parse_challenge(text: object) -> bytes:
    """The IdP's one-time challenge: exactly 32 bytes as 43 canonical base64url characters."""
    return _parse_32_bytes(text, "challenge")


def parse_digest(text: object) -> bytes:
    """The SHA-256 digest the IdP computed for a document: 32 bytes, 43 base64url characters."""
    return _parse_32_bytes(text, "digest")


def parse_display_text(text: object, field: str, limit: int) -> str:
    """A document's title or summary: 1-``limit`` characters that display as what they are.

    Shown on the PIN screen as the site's claim, never trusted; refused rather than cleaned up,
    so the IdP learns at once that its text would not be shown as it meant.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        raise errors.BadRequest(f"{field} must be text of 1-{limit} characters", field=field)
    if any(unicodedata.category(char) in FORBIDDEN_CATEGORIES for char in text):
        raise errors.BadRequest(f"{field} must not contain control characters", field=field)
    return text.strip()


def fingerprint(digest: bytes) -> str:
    """The digest's first 8 bytes as upper-case hex in groups of four (§8), e.g. 9F86-D081-…."""
    text = digest[:FINGERPRINT_BYTES].hex().upper()
    return "-".join(text[index : index + 4] for index in range(0, len(text), 4))


def parse_service(text: object) -> str:
    """The service's display name the page states; shown as the page's claim, never trusted."""
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= SERVICE_MAX:
        raise errors.BadRequest(
            f"service must be a name of 1-{SERVICE_MAX} characters", field="service"
        )
    if not text.isprintable():
        raise errors.BadRequest("service must be printable text", field="service")
    return text.strip()


def signed_value(origin: str, challenge: bytes) -> bytes:
    """SHA-256(origin as UTF-8) || SHA-256(challenge): 64 bytes (docs/bridge-protocol.md)."""
    return hashlib.sha256(origin.encode("utf-8")).digest() + hashlib.sha256(challenge).digest()


def digest_info(origin: str, challenge: bytes) -> bytes:
    """The 51 bytes sent to COMPUTE DIGITAL SIGNATURE; the card adds the PKCS#1 v1.5 padding."""
    return sha256_digest_info(hashlib.sha256(signed_value(origin, challenge)).digest())


def sha256_digest_info(digest: bytes) -> bytes:
    """DigestInfo(SHA-256, digest): the only shape of input the bridge ever gives the card."""
    if len(digest) != DIGEST_BYTES:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return SHA256_DIGEST_INFO_PREFIX + digest


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


@dataclass(frozen=True)
class DocumentSignatureResult:
    """A document signature (bridge-protocol.md §8): ``digest`` in place of ``challenge``.

    ``origin``, ``purpose`` and ``digest`` are echoes that let the IdP see at once that this is
    the answer to the request it stored; it verifies with its own digest, never with the echo.
    """

    origin: str
    digest: bytes
    certificate: bytes
    signature: bytes
    purpose: ClassVar[str] = DOCUMENT_PURPOSE

    def to_json(self) -> dict[str, str | int]:
        return {
            "version": VERSION,
            "purpose": self.purpose,
            "origin": self.origin,
            "digest": b64url(self.digest),
            "certificate": b64url(self.certificate),
            "signature": b64url(self.signature),
            "algorithm": ALGORITHM,
            "format": DOCUMENT_FORMAT,
        }


@dataclass(frozen=True)
class PairResult:
    """A two-key answer (bridge-protocol.md §9): ``certificate``/``signature`` are the signing
    key's, as in version 1; ``authentication_*`` the same card's authentication key's.

    ``value`` is the challenge (purpose ``identity``) or the document digest (``document``),
    echoed under that name.
    """

    purpose: str
    origin: str
    value: bytes
    authentication_certificate: bytes
    authentication_signature: bytes
    certificate: bytes
    signature: bytes

    def to_json(self) -> dict[str, str | int]:
        document = self.purpose == DOCUMENT_PURPOSE
        return {
            "version": PAIR_VERSION,
            "purpose": self.purpose,
            "origin": self.origin,
            "digest" if document else "challenge": b64url(self.value),
            "certificate": b64url(self.certificate),
            "signature": b64url(self.signature),
            "authentication_certificate": b64url(self.authentication_certificate),
            "authentication_signature": b64url(self.authentication_signature),
            "algorithm": ALGORITHM,
            "format": DOCUMENT_PAIR_FORMAT if document else PAIR_FORMAT,
        }


Result = SignatureResult | DocumentSignatureResult | PairResult
"""What an operation returns: a login/identity proof, a document signature, or a two-key one."""
