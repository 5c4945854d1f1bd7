"""The origin-bound signed value and its verification (docs/bridge-protocol.md §4).

signed value  = SHA-256(origin) ‖ SHA-256(challenge)        (64 bytes)
card input    = DigestInfo(SHA-256, SHA-256(signed value))  (51 bytes, docs/jpki.md §1)
signature     = RSASSA-PKCS1-v1_5 by the card's key         (256 bytes, RSA-2048)

Hashing origin and challenge separately gives both fixed length, so no two (origin, challenge)
pairs share a signed value. The IdP rebuilds the value from its **own** origin and the challenge
it stored, never from anything the client sent.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki.errors import BadSignature, Malformed

SIGNATURE_BYTES = 256
DIGEST_BYTES = 32
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_origin(origin: str) -> str:
    """RFC 6454 ASCII serialisation: ``scheme://host[:port]``, lower case, default port dropped.

    The bridge canonicalises its ``--allow-origin`` values alike (``client_bridge.guard``, which
    may not import this module); tests/bridge/test_origin_agreement.py holds the two together."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        raise Malformed("origin does not parse") from None
    host = parts.hostname
    if parts.scheme not in DEFAULT_PORTS or not host or not origin.isascii():
        raise Malformed("origin must be an ASCII http(s) origin")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise Malformed("an origin has no path, query, fragment or user info")
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{suffix}"


def signed_value(origin: str, challenge: bytes) -> bytes:
    """SHA-256(origin) ‖ SHA-256(challenge) over the canonical origin and raw challenge."""
    origin_hash = hashlib.sha256(canonical_origin(origin).encode("ascii")).digest()
    return origin_hash + hashlib.sha256(challenge).digest()


def card_digest_info(origin: str, challenge: bytes) -> bytes:
    """What the bridge sends to the card's SIGN command (docs/jpki.md §1): a SHA-256 DigestInfo."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(signed_value(origin, challenge)).digest()


def verify_signature(
    certificate: x509.Certificate, signature: bytes, origin: str, challenge: bytes
) -> None:
    """RSASSA-PKCS1-v1_5 with SHA-256 over the signed value, or ``BadSignature``."""
    digest = hashlib.sha256(signed_value(origin, challenge)).digest()
    if not _verifies(certificate, signature, digest):
        raise BadSignature("the signature does not verify over this origin and challenge")


def verify_digest_signature(certificate: x509.Certificate, signature: bytes, digest: bytes) -> None:
    """RSASSA-PKCS1-v1_5 over DigestInfo(SHA-256, ``digest``) exactly (bridge-protocol.md §8):
    the document signature that goes into a CMS SignerInfo, or ``BadSignature``."""
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the expected digest must be a 32-byte SHA-256 value")
    if not _verifies(certificate, signature, digest):
        raise BadSignature("the signature does not verify over this digest")


def _verifies(certificate: x509.Certificate, signature: bytes, digest: bytes) -> bool:
    """The card's PKCS#1 v1.5 signature of DigestInfo(SHA-256, digest), with the card's key."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or len(signature) != SIGNATURE_BYTES:
        raise BadSignature("not a 256-byte RSA signature")
    try:
        key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def origin_bytes(origin: str) -> bytes:
    """An echoed origin in canonical form for a constant-time comparison; b"" if it is no origin."""
    try:
        return canonical_origin(origin).encode("ascii")
    except Malformed:
        return b""
