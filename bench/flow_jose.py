"""The relying party's JOSE, lean: ES256 JWTs with ``cryptography`` and nothing else.

The load generator shares one core with nothing but itself, and every microsecond it spends is
a login it cannot send; a general JOSE library costs several times the signature itself. These
few lines produce exactly the compact JWS (RFC 7515) that joserfc would.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def ec_public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict) -> str:
    """RFC 7638 thumbprint of an EC public JWK."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())


def es256(key: ec.EllipticCurvePrivateKey, header: dict, claims: dict) -> str:
    signing_input = b64url(_json({**header, "alg": "ES256"})) + "." + b64url(_json(claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
