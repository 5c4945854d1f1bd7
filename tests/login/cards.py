"""Card answers for the login tests: what the bridge returns, made with a sandbox card's key.

The signature is what the card computes (PKCS#1 v1.5 over the SHA-256 DigestInfo of the
protocol's signed value, docs/bridge-protocol.md §4), so the IdP verifies it exactly as it
would a real card's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki.signature import signed_value

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://127.0.0.1:8000"
"""The testing IdP's own origin (its default issuer)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def card_signature(key: rsa.RSAPrivateKey, origin: str, challenge: str) -> bytes:
    raw = base64.urlsafe_b64decode(challenge + "=")
    digest = hashlib.sha256(signed_value(origin, raw)).digest()
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def bridge_result(
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    challenge: str,
    *,
    origin: str = ORIGIN,
    signed_origin: str | None = None,
    **changes: object,
) -> str:
    """The result JSON the bridge would return for ``challenge``; ``changes`` bend members."""
    result = {
        "version": 1,
        "purpose": "login",
        "origin": origin,
        "challenge": challenge,
        "certificate": b64url(certificate.public_bytes(serialization.Encoding.DER)),
        "signature": b64url(card_signature(key, signed_origin or origin, challenge)),
        "algorithm": "RS256",
        "format": "jpki-origin-challenge-v1",
    }
    result.update(changes)
    return json.dumps({k: v for k, v in result.items() if v is not None})


def pair_result(
    auth_certificate: x509.Certificate,
    auth_key: rsa.RSAPrivateKey,
    sign_certificate: x509.Certificate,
    sign_key: rsa.RSAPrivateKey,
    challenge: str,
    *,
    origin: str = ORIGIN,
    auth_challenge: str | None = None,
    **changes: object,
) -> str:
    """The bridge's two-key identity answer (docs/bridge-protocol.md §9) for ``challenge``:
    both keys sign it; ``auth_challenge`` makes the authentication key sign another one (a
    mismatched pair); ``changes`` bend members (None drops one)."""
    der = serialization.Encoding.DER
    result = {
        "version": 2,
        "purpose": "identity",
        "origin": origin,
        "challenge": challenge,
        "certificate": b64url(sign_certificate.public_bytes(der)),
        "signature": b64url(card_signature(sign_key, origin, challenge)),
        "authentication_certificate": b64url(auth_certificate.public_bytes(der)),
        "authentication_signature": b64url(
            card_signature(auth_key, origin, auth_challenge or challenge)
        ),
        "algorithm": "RS256",
        "format": "jpki-origin-challenge-pair-v2",
    }
    result.update(changes)
    return json.dumps({k: v for k, v in result.items() if v is not None})


def compile_catalogues() -> None:
    """What ``pybabel compile`` in script/bootstrap does, so the pages are in Japanese even when
    the suite runs without it. Each .mo is written beside it and renamed into place, so a test
    run reading the catalogues in the same tree at that moment never sees a half-written file."""
    for po in (ROOT / "idp").glob("*/translations/*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        mo = po.with_suffix(".mo")
        partial = mo.with_name(f".{mo.name}.{os.getpid()}")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)
