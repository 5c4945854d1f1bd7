"""A FAPI 2.0 relying party (PAR, private_key_jwt, DPoP, PKCE) and a citizen's browser, over
https through the topology's nginx. The card step is signed in software with the sandbox card's
authentication key, as bench/flow_client.py does (the same 256 bytes the card would return).

Every response either side receives is kept in ``seen`` for the header checks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.production.topology import (
    LOGOUT_REDIRECT_URI,
    REDIRECT_URI,
    Topology,
    card_signature,
    signed_digest,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHALLENGE = re.compile(r'data-challenge="([^"]+)"')
FORM = re.compile(r'<form id="consent-form" method="post" action="([^"]+)"')
ITEMS = re.compile(r'name="item" value="([^"]+)"')


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class FlowError(AssertionError):
    pass


def expect(response: requests.Response, status: int, step: str) -> requests.Response:
    if response.status_code != status:
        raise FlowError(f"{step}: HTTP {response.status_code} {response.text[:500]}")
    return response


@dataclass
class Bank:
    """The relying party's server: back channel only, no cookies."""

    topology: Topology
    base: str = ""
    """Where its requests go: the issuer (through nginx) unless a test aims at one node."""
    seen: list = field(default_factory=list)
    dpop_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))
    dpop_nonce: str | None = None

    def __post_init__(self) -> None:
        self.http = self.topology.session()
        self.http.hooks["response"].append(lambda r, *_, **__: self.seen.append(r))
        self.base = self.base or self.topology.issuer

    def assertion(self) -> str:
        now, client = int(time.time()), self.topology.client_id
        claims = {"iss": client, "sub": client, "aud": self.topology.issuer, "iat": now}
        claims.update(exp=now + 60, jti=secrets.token_urlsafe(16))
        header = {"alg": "ES256", "kid": self.topology.client_kid}
        return jwt.encode(header, claims, self.topology.client_key)

    def proof(self, method: str, path: str, access_token: str | None = None) -> str:
        claims = {"jti": secrets.token_urlsafe(16), "htm": method, "iat": int(time.time())}
        claims["htu"] = self.topology.issuer + path  # the issuer's URL, whichever node answers
        if self.dpop_nonce:
            claims["nonce"] = self.dpop_nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.as_dict(private=False)}
        return jwt.encode(header, claims, self.dpop_key)

    def _post(self, path: str, form: dict, headers: dict | None = None) -> requests.Response:
        """POST with client authentication and DPoP, once more when the server asks for a
        fresh nonce (RFC 9449 §8)."""
        for _ in range(2):
            body = {**form, "client_assertion_type": ASSERTION_TYPE}
            body["client_assertion"] = self.assertion()
            sent = {"DPoP": self.proof("POST", path), **(headers or {})}
            response = self.http.post(self.base + path, data=body, headers=sent, timeout=30)
            if nonce := response.headers.get("DPoP-Nonce"):
                self.dpop_nonce = nonce
            if response.status_code != 400 or response.json().get("error") != "use_dpop_nonce":
                return response
        return response

    def push(self, extra: dict | None = None, **headers) -> tuple[str, dict]:
        """PAR → (request_uri, what the callback and token request need); ``extra`` adds
        authorization parameters (``prompt``…)."""
        response, pending = self.par(extra, **headers)
        return expect(response, 201, "par").json()["request_uri"], pending

    def par(self, extra: dict | None = None, **headers) -> tuple[requests.Response, dict]:
        """A pushed authorization request, whatever the answer: (response, pending)."""
        verifier = secrets.token_urlsafe(48)
        pending = {"verifier": verifier, "state": secrets.token_urlsafe(12)}
        pending["nonce"] = secrets.token_urlsafe(12)
        form = {
            "response_type": "code",
            "client_id": self.topology.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            **(extra or {}),
        }
        return self._post("/par", form, headers), pending

    def authorization_url(self, request_uri: str) -> str:
        params = {"client_id": self.topology.client_id, "request_uri": request_uri}
        return self.topology.issuer + "/authorize?" + urlencode(params)

    def token(self, code: str, pending: dict) -> dict:
        tokens = expect(self.redeem(code, pending), 200, "token").json()
        assert tokens["token_type"] == "DPoP"  # noqa: S105 - a token type, not a secret
        return tokens

    def redeem(self, code: str, pending: dict) -> requests.Response:
        """The token request for ``code``, whatever the answer."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pending["verifier"],
        }
        return self._post("/token", form)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self._post("/token", {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def userinfo(self, access_token: str) -> dict:
        headers = {
            "Authorization": "DPoP " + access_token,
            "DPoP": self.proof("GET", "/userinfo", access_token),
        }
        response = self.http.get(self.base + "/userinfo", headers=headers, timeout=30)
        return expect(response, 200, "userinfo").json()


@dataclass
class Citizen:
    """A browser: cookies, and the card step signed in software."""

    topology: Topology
    card: int = 0
    """Which of the topology's cards this citizen holds."""
    seen: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = self.topology.session()
        self.http.headers["Accept"] = "text/html"
        self.http.headers["Accept-Language"] = "ja"
        self.http.hooks["response"].append(lambda r, *_, **__: self.seen.append(r))

    def get(self, url: str) -> requests.Response:
        return self.http.get(urljoin(self.topology.issuer, url), allow_redirects=False)

    def post(self, url: str, form: dict) -> requests.Response:
        return self.http.post(urljoin(self.topology.issuer, url), data=form, allow_redirects=False)

    def open_login(self, authorization_url: str) -> tuple[str, str, str]:
        """/authorize → the login page: (page path, CSRF token, challenge)."""
        front = expect(self.get(authorization_url), 303, "authorize")
        page = urlsplit(front.headers["Location"]).path
        html = expect(self.get(page), 200, "login page").text
        csrf, challenge = CSRF.search(html), CHALLENGE.search(html)
        if csrf is None or challenge is None:
            raise FlowError("login page: no CSRF token or challenge")
        return page, csrf.group(1), challenge.group(1)

    def card_step(self, page: str, csrf: str, challenge: str) -> requests.Response:
        """What the bridge returns after the card signed ``origin ‖ challenge``."""
        origin = self.topology.issuer
        certificate, signature = card_signature(
            self.topology.state, self.topology.card_ids[self.card], signed_digest(origin, challenge)
        )
        result = {
            "version": 1,
            "purpose": "login",
            "origin": origin,
            "challenge": challenge,
            "certificate": b64url(certificate),
            "signature": b64url(signature),
            "algorithm": "RS256",
            "format": "jpki-origin-challenge-v1",
        }
        return self.post(page + "/result", {"csrf_token": csrf, "result": json.dumps(result)})

    def consent(self, response: requests.Response) -> requests.Response:
        """Approve the consent screen (first login of this account at this client)."""
        screen = expect(self.get(response.headers["Location"]), 200, "consent page").text
        action, csrf = FORM.search(screen), CSRF.search(screen)
        if action is None or csrf is None:
            raise FlowError("consent page: no form")
        form = {"csrf_token": csrf.group(1), "action": "approve", "item": ITEMS.findall(screen)}
        return self.post(unescape(action.group(1)), form)

    def finish_login(self, page: str, csrf: str, challenge: str, pending: dict) -> str:
        """Card step (and consent when asked) → the code for the bank."""
        answer = self.card_step(page, csrf, challenge)
        if answer.status_code in (302, 303) and "/consent/" in answer.headers["Location"]:
            answer = self.consent(answer)
        expect(answer, 302, "card result / consent")
        callback = query(answer.headers["Location"])
        assert answer.headers["Location"].startswith(REDIRECT_URI + "?"), answer.headers
        assert callback["state"] == pending["state"]
        assert callback["iss"] == self.topology.issuer
        return callback["code"]

    def logout(self, id_token: str) -> requests.Response:
        params = {"id_token_hint": id_token, "post_logout_redirect_uri": LOGOUT_REDIRECT_URI}
        return self.get("/logout?" + urlencode(params))
