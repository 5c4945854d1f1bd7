"""A relying party for the tests: builds real requests against the Flask test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ISSUER = "http://127.0.0.1:8000"
TOKEN_URL = ISSUER + "/token"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class RelyingParty:
    """One registered client and the browser (test client) that visits the IdP for it."""

    http: object
    client_id: str
    redirect_uri: str
    secret: str | None = None
    key: RSAKey | ECKey | None = None
    verifier: str = ""
    extra_auth_headers: dict = field(default_factory=dict)

    def authorization_params(self, **overrides) -> dict:
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides):
        return self.http.get("/authorize", query_string=self.authorization_params(**overrides))

    def assertion(self, **claims) -> str:
        now = int(time.time())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": ISSUER,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        alg = "ES256" if isinstance(self.key, ECKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": self.key.kid}, body, self.key)

    def auth(self, form: dict, headers: dict, assertion: str | None = None) -> None:
        """Add this client's authentication to a back-channel request."""
        if self.secret:
            raw = f"{self.client_id}:{self.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = assertion or self.assertion()

    def token(self, code: str, /, assertion: str | None = None, extra_headers=None, **overrides):
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        form.update(overrides)
        form = {k: v for k, v in form.items() if v is not None}
        headers = {**self.extra_auth_headers, **(extra_headers or {})}
        self.auth(form, headers, assertion)
        return self.http.post("/token", data=form, headers=headers)

    def push(self, assertion: str | None = None, extra_headers=None, **overrides):
        form = self.authorization_params(**overrides)
        headers: dict = dict(extra_headers or {})
        self.auth(form, headers, assertion)
        return self.http.post("/par", data=form, headers=headers)

    def login_code(self, **overrides) -> str:
        """Run /authorize to the redirect and return the code (asserting success)."""
        response = self.authorize(**overrides)
        assert response.status_code == 302, response.get_data(as_text=True)
        params = query(response.headers["Location"])
        assert "code" in params, params
        return params["code"]

    def tokens(self, **overrides) -> dict:
        response = self.token(self.login_code(**overrides))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json


def dpop_proof(
    key, method: str, url: str, nonce: str | None = None, ath: str | None = None, **changes
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2); ``changes`` overrides header (h_*) or claims."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
    if nonce:
        claims["nonce"] = nonce
    if ath:
        claims["ath"] = ath
    for name, value in changes.items():
        target, field_name = (header, name[2:]) if name.startswith("h_") else (claims, name)
        if value is None:
            target.pop(field_name, None)
        else:
            target[field_name] = value
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])
