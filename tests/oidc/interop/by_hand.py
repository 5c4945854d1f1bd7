"""What a client without a library for it does by hand, with joserfc and requests only, as
docs/integration-guide.md §4 and §5 show: a private_key_jwt client assertion (RFC 7523), DPoP
proofs (RFC 9449) and the one retry with the server's nonce, an ID token check (OIDC Core
§3.1.3.7). The minimal requests client uses all of it, requests-oauthlib's tests what that
library lacks."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet


def client_assertion(client_id: str, key: ECKey, audience: str) -> dict:
    """The form members that authenticate the client at ``audience`` (60 s, a fresh jti)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(24),
        "iat": now,
        "exp": now + 60,
    }
    assertion = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }


class DPoP:
    """One DPoP key and the server's latest nonce."""

    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256")
        self.nonce: str | None = None

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims = {
            "jti": secrets.token_urlsafe(24),
            "htm": method,
            "htu": url.split("?")[0],
            "iat": int(time.time()),
        }
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            digest = hashlib.sha256(access_token.encode()).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return jwt.encode(header, claims, self.key, algorithms=["ES256"])

    def remember(self, response: requests.Response, *_args, **_kwargs) -> requests.Response:
        """Keep the nonce a response carries (usable as a requests response hook)."""
        self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
        return response

    def send(
        self, method: str, url: str, send: Callable[[dict], requests.Response], token=None
    ) -> requests.Response:
        """``send(headers)`` with a proof; once more with the server's nonce if it asks."""
        for _ in range(2):
            response = self.remember(send({"DPoP": self.proof(method, url, token)}))
            if not asks_for_nonce(response):
                break
        return response

    def userinfo(self, endpoint: str, access_token: str) -> dict:
        response = self.send(
            "GET",
            endpoint,
            lambda headers: requests.get(
                endpoint, headers={**headers, "Authorization": f"DPoP {access_token}"}, timeout=10
            ),
            access_token,
        )
        response.raise_for_status()
        return response.json()


def asks_for_nonce(response: requests.Response) -> bool:
    return "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "") + response.text


def validate_id_token(id_token: str, meta: dict, client_id: str, nonce: str) -> dict:
    """Signature by the IdP's published key, iss, aud, exp and nonce."""
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(id_token, keys).claims
    assert claims["iss"] == meta["issuer"]
    assert claims["aud"] in (client_id, [client_id])
    assert claims["exp"] > time.time()
    assert claims["nonce"] == nonce
    return claims
