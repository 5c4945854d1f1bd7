"""DPoP (RFC 9449) for a client: proofs, and one retry when the server wants a nonce.

Authlib's client has no DPoP, so this is the whole of it. A proof is a JWT signed with the DPoP
key, carrying the public key in its header, the request's method and URL, a fresh ``jti``, and —
when presenting an access token — ``ath``, the token's hash. Servers may demand a nonce of their
own (§8, §9): they answer ``use_dpop_nonce`` with a ``DPoP-Nonce`` header, and the client signs a
new proof with it and tries once more. The last nonce seen is reused for the next request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable

import requests
from joserfc import jwt
from joserfc.jwk import ECKey


def access_token_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def wants_nonce(response: requests.Response) -> bool:
    """The server refused the proof for lack of a (fresh) nonce: §8.1 (token, PAR), §9 (APIs)."""
    if "DPoP-Nonce" not in response.headers:
        return False
    if 'error="use_dpop_nonce"' in response.headers.get("WWW-Authenticate", ""):
        return True
    try:
        return response.json().get("error") == "use_dpop_nonce"
    except ValueError:
        return False


class DPoPSigner:
    """Makes proofs with one key and remembers the server's latest nonce."""

    def __init__(self, key: ECKey) -> None:
        self.key = key
        self._nonce: str | None = None
        self._lock = threading.Lock()

    @property
    def thumbprint(self) -> str:
        return self.key.thumbprint()

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        claims = {
            "jti": secrets.token_urlsafe(24),
            "htm": method,
            "htu": url.split("?", 1)[0].split("#", 1)[0],
            "iat": int(time.time()),
        }
        with self._lock:
            if self._nonce:
                claims["nonce"] = self._nonce
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        return jwt.encode(header, claims, self.key, algorithms=["ES256"])

    def remember(self, response: requests.Response) -> None:
        if nonce := response.headers.get("DPoP-Nonce"):
            with self._lock:
                self._nonce = nonce

    def send(
        self,
        method: str,
        url: str,
        call: Callable[[dict[str, str]], requests.Response],
        access_token: str | None = None,
    ) -> requests.Response:
        """``call(headers)`` with a proof in ``DPoP``; once more with the nonce if asked."""
        response = call({"DPoP": self.proof(method, url, access_token)})
        self.remember(response)
        if wants_nonce(response):
            response = call({"DPoP": self.proof(method, url, access_token)})
            self.remember(response)
        return response
