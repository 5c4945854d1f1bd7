"""DPoP (RFC 9449): proof verification, server nonces, and binding tokens to the proof's key.

A proof is checked in this order (§4.3): one header; a compact JWS with ``typ`` dpop+jwt, an
asymmetric ``alg`` we offer and a public ``jwk``; a valid signature by that key; ``htm`` and
``htu`` equal to this request; ``iat`` recent; ``nonce`` one we issued (§8, stateless: an HMAC of
its time, so every process accepts every other's); ``ath`` the hash of the presented access token
(§7); and ``jti`` never seen before for this key (§11.1, the ephemeral store).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from authlib.oauth2.base import OAuth2Error
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from . import untrusted_json
from .sealing import derive_key

ALGORITHMS = ("ES256", "PS256", "RS256")
IAT_WINDOW = 60
"""Seconds a proof's ``iat`` may differ from our clock."""
NONCE_LIFETIME = 300
"""Seconds a server nonce stays acceptable."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class InvalidDPoPProofError(OAuth2Error):
    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(OAuth2Error):
    """§8.1: the client must retry with the nonce in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, nonce: str) -> None:
        super().__init__("a fresh DPoP nonce is required")
        self.nonce = nonce

    def get_headers(self):
        return [*super().get_headers(), ("DPoP-Nonce", self.nonce)]


def access_token_hash(access_token: str) -> str:
    return _b64(hashlib.sha256(access_token.encode()).digest())


def canonical_url(url: str) -> str:
    """§4.3 item 9: compare without query and fragment, scheme and host case-insensitive."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def bind(client, expected: str | None, proven: str | None) -> str | None:
    """The key tokens are bound to: the proof's, which must match ``dpop_jkt`` (§10) if set."""
    if expected and proven != expected:
        raise InvalidDPoPProofError("the DPoP key does not match the authorization's dpop_jkt")
    if client.require_dpop and not proven:
        raise InvalidDPoPProofError("this client must send a DPoP proof")
    return proven


def _single_proof(headers) -> str:
    """The request's one DPoP header (§4.3 item 1), bounded before anything parses it."""
    proofs = headers.getlist("DPoP") if hasattr(headers, "getlist") else [headers.get("DPoP")]
    if len(proofs) != 1 or not proofs[0] or len(proofs[0]) > 8192:
        raise InvalidDPoPProofError("exactly one DPoP header is required")
    if not untrusted_json.compact_jws_ok(proofs[0]):
        raise InvalidDPoPProofError("the DPoP proof is not a compact JWS")
    return proofs[0]


def _check_request_binding(claims: dict, method: str, url: str, now: float) -> None:
    """The proof was made for this request, now (§4.3: ``htm``, ``htu``, ``iat``): a proof
    captured from another request or long ago is refused."""
    if claims.get("htm") != method or not isinstance(claims.get("htu"), str):
        raise InvalidDPoPProofError("htm does not match this request")
    if canonical_url(claims["htu"]) != canonical_url(url):
        raise InvalidDPoPProofError("htu does not match this request")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or abs(now - iat) > IAT_WINDOW:
        raise InvalidDPoPProofError("iat is missing or not recent")


class DPoP:
    """Verifies proofs for one deployment (its secret makes the nonces)."""

    def __init__(
        self,
        secret: str,
        store_getter,
        clock: Callable[[], float] = time.time,
        algorithms: tuple[str, ...] = ALGORITHMS,
    ) -> None:
        """``clock`` (Unix seconds) judges ``iat`` and nonce age; tests move it. ``algorithms``:
        those a proof may use (production: PS256 and ES256, FAPI 2.0 Security Profile §5.4.1)."""
        self._nonce_key = derive_key(secret, b"dpop-nonce")
        self._store = store_getter
        self._clock = clock
        self.algorithms = algorithms

    def nonce(self, now: float | None = None) -> str:
        stamp = str(int(now if now is not None else self._clock()))
        mac = hmac.new(self._nonce_key, stamp.encode(), hashlib.sha256).digest()[:16]
        return f"{stamp}.{_b64(mac)}"

    def _nonce_ok(self, nonce: object, now: float) -> bool:
        if not isinstance(nonce, str) or "." not in nonce or len(nonce) > 64:
            return False
        stamp = nonce.split(".", 1)[0]
        if not (stamp.isascii() and stamp.isdigit()) or not 0 <= now - int(stamp) <= NONCE_LIFETIME:
            return False
        return hmac.compare_digest(nonce, self.nonce(int(stamp)))

    def verify(
        self,
        headers,
        method: str,
        url: str,
        access_token: str | None = None,
        require_nonce: bool = True,
    ) -> str:
        """The JWK thumbprint (``jkt``) of a valid proof for this request; raises otherwise.

        In the order the module lists: the replay cache comes last, so a proof refused for
        anything else is not spent."""
        claims, key = self._signed(_single_proof(headers))
        now = self._clock()
        _check_request_binding(claims, method, url, now)
        if require_nonce and not self._nonce_ok(claims.get("nonce"), now):
            raise UseDPoPNonceError(self.nonce(now))
        if access_token is not None and claims.get("ath") != access_token_hash(access_token):
            raise InvalidDPoPProofError("ath does not match the access token")
        jkt = key.thumbprint()
        self._spend(claims.get("jti"), jkt)
        return jkt

    def _spend(self, jti: object, jkt: str) -> None:
        """Record the proof's ``jti`` for this key (§11.1) for as long as any proof with it could
        still pass the ``iat`` and nonce checks; a second use is refused."""
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise InvalidDPoPProofError("jti is missing")
        if not self._store().add(f"dpop:jti:{jkt}:{jti}", b"1", 2 * IAT_WINDOW + NONCE_LIFETIME):
            raise InvalidDPoPProofError("this DPoP proof was already used")

    def _signed(self, proof: str) -> tuple[dict, RSAKey | ECKey]:
        try:
            signed = jws.extract_compact(proof.encode())  # parsed once, verified below
            header = signed.protected
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in self.algorithms:
                raise InvalidDPoPProofError("typ must be dpop+jwt and alg one we offer")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC"):
                raise InvalidDPoPProofError("jwk must be a public RSA or EC key")
            key = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
            if key.is_private:
                raise InvalidDPoPProofError("jwk must not contain a private key")
            if not jws.validate_compact(signed, key, algorithms=[header["alg"]]):
                raise InvalidDPoPProofError("the DPoP proof's signature does not verify")
            claims = json.loads(signed.payload)
        except (JoseError, ValueError, TypeError, KeyError) as e:
            raise InvalidDPoPProofError("the DPoP proof is not a valid signed JWT") from e
        if not isinstance(claims, dict):
            raise InvalidDPoPProofError("the DPoP proof payload is not an object")
        return claims, key
