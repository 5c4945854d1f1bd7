"""One browser and its relying party, doing complete card logins over HTTP, as fast as they can.

A login, each step checked (any surprise counts as an error and ends that login):

1. ``POST /par`` (private_key_jwt, ES256 assertion) → ``request_uri``
2. ``GET /authorize?client_id&request_uri`` → 303 to the login page (a fresh browser: no cookies)
3. ``GET /login/card/<tx>`` → the page, its CSRF token and the first challenge (the page's
   script asks ``POST /login/card/<tx>/challenge`` only for a second attempt; ``--challenge
   request`` makes every login ask, as the IdP before it carried the challenge in the page)
4. the card signs ``origin ‖ challenge`` (docs/bridge-protocol.md §4) → the bridge's result
5. ``POST /login/card/<tx>/result`` → the IdP verifies it (OCSP answer from its cache), finds the
   account and its remembered consent → 302 to the client with ``code`` and ``iss``
6. ``POST /token`` (private_key_jwt, DPoP proof with the server's nonce, PKCE) → DPoP tokens
7. ``GET /userinfo`` (``Authorization: DPoP``, proof with ``ath``) → ``sub``

The card's signature: PKCS#1 v1.5 is deterministic, so the virtual card's answer
(``sandbox.card``, pure-Python RSA, ~6 ms) and OpenSSL's over the same DigestInfo are the same
256 bytes. ``CardSigner.check`` proves that for each card through the virtual card's APDUs
before the clock starts; the timed loop then signs with OpenSSL (``--card apdu`` keeps the
virtual card in the loop, and the load generator becomes the bottleneck).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from bench.flow_jose import b64url, ec_public_jwk, es256, thumbprint
from bench.flow_world import REDIRECT_URI, BenchCard

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGE_CHALLENGE = re.compile(r'data-challenge="([^"]+)"')
DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")
BACK_CHANNEL = frozenset({"par", "token", "userinfo"})
"""Steps the relying party's server makes itself: no browser cookies, no Accept-Language."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class FlowError(Exception):
    """A step answered something other than what a successful login gets."""


def signed_digest(origin: str, challenge: str) -> bytes:
    """SHA-256(origin_hash ‖ challenge_hash): what the card's DigestInfo carries."""
    raw = _b64decode(challenge)
    value = hashlib.sha256(origin.encode()).digest() + hashlib.sha256(raw).digest()
    return hashlib.sha256(value).digest()


def _b64decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CardSigner:
    """Signs as the card does; ``apdu=True`` drives the in-process virtual card every time."""

    def __init__(self, card: BenchCard, state, apdu: bool = False) -> None:
        self.card = card
        self.apdu = apdu
        self._virtual = _virtual_card(state, card.card_id)

    def _apdu_sign(self, digest: bytes) -> bytes:
        from client_bridge.pin import KeyKind, Pin

        self._virtual.transport.power_on()
        self._virtual.select_application()
        with Pin(KeyKind.AUTH, self.card.pin) as pin:
            self._virtual.verify(pin)
        return self._virtual.sign(KeyKind.AUTH, DIGEST_INFO_SHA256 + digest)

    def sign(self, digest: bytes) -> bytes:
        if self.apdu:
            return self._apdu_sign(digest)
        return self.card.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))

    def check(self) -> None:
        """The virtual card and OpenSSL give the same signature (else refuse to measure)."""
        digest = hashlib.sha256(secrets.token_bytes(32)).digest()
        fast = self.card.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        if self._apdu_sign(digest) != fast:
            raise FlowError(f"card {self.card.card_id}: virtual card and OpenSSL disagree")


def _virtual_card(state, card_id: str):
    from client_bridge.card import JpkiCard
    from sandbox.card.card import VirtualCard

    return JpkiCard(VirtualCard.from_state(state, card_id))


@dataclass
class Timings:
    flows: list[float] = field(default_factory=list)
    """Seconds per completed login."""
    requests: list[float] = field(default_factory=list)
    """Seconds per HTTP exchange, as this client saw it."""
    steps: dict[str, list[float]] = field(default_factory=dict)
    """Seconds per HTTP exchange, by step."""
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)


class Browser:
    """A relying party and a browser; each ``login`` starts with no cookies (a new person)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_key,
        client_kid: str,
        signer,
        ask_challenge: bool = False,
        resume: bool = False,
    ) -> None:
        parts = urlsplit(issuer)
        self.issuer = issuer.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.client_id = client_id
        self.client_key = client_key
        self.client_kid = client_kid
        self.signer = signer
        self.ask_challenge = ask_challenge
        self.resume = resume
        """The server answers the card's result with a redirect to its own authorization
        endpoint, which then redirects to the client (node-oidc-provider's interactions:
        ``bench/peer``); the IdP redirects to the client at once."""
        self.dpop_key = ec.generate_private_key(ec.SECP256R1())
        self.dpop_jwk = ec_public_jwk(self.dpop_key)
        self.dpop_nonce: str | None = None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.timings = Timings()

    # --- HTTP -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, form: dict | None = None, headers=None, step=""):
        head = {"Host": self.host, **(headers or {})}
        if step not in BACK_CHANNEL:  # the relying party's own calls carry no browser state
            head["Accept-Language"] = "ja"
        if self.cookies and step not in BACK_CHANNEL:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            head["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body, head)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        took = time.perf_counter() - started
        self.timings.requests.append(took)
        self.timings.steps.setdefault(step or path.split("?")[0], []).append(took)
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        if nonce := response.getheader("DPoP-Nonce"):
            self.dpop_nonce = nonce
        return response.status, response.headers, data

    def _expect(self, step: str, got, status: int):
        if got[0] != status:
            raise FlowError(f"{step}: HTTP {got[0]}")
        return got

    # --- JOSE -----------------------------------------------------------------------------

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        return es256(self.client_key, {"kid": self.client_kid}, claims)

    def _proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if self.dpop_nonce:
            claims["nonce"] = self.dpop_nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        return es256(self.dpop_key, {"typ": "dpop+jwt", "jwk": self.dpop_jwk}, claims)

    # --- the login ------------------------------------------------------------------------

    def pushed_request(self, code_challenge: str, state: str) -> dict:
        """The form of a pushed authorization request, signed in with a fresh assertion."""
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            # RFC 9449 §10: the code is bound to the DPoP key; a --require-dpop client's
            # pushed request must carry a proof or this
            "dpop_jkt": thumbprint(self.dpop_jwk),
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(),
        }

    def login(self) -> None:
        """One complete login; raises FlowError (or an OSError) at the first surprise."""
        self.cookies = {}
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(12)
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        params = self.pushed_request(challenge, state)
        _, _, body = self._expect("par", self._send("POST", "/par", params, step="par"), 201)
        request_uri = json.loads(body)["request_uri"]
        query = urlencode({"client_id": self.client_id, "request_uri": request_uri})
        _, headers, _ = self._expect(
            "authorize", self._send("GET", "/authorize?" + query, step="authorize"), 303
        )
        page = urlsplit(headers["Location"]).path
        _, _, html = self._expect("login page", self._send("GET", page, step="page"), 200)
        found = CSRF.search(html.decode())
        if found is None:
            raise FlowError("login page: no CSRF token")
        csrf = found.group(1)
        carried = PAGE_CHALLENGE.search(html.decode())
        if self.ask_challenge or carried is None:
            got = self._send("POST", page + "/challenge", {}, {"X-CSRF-Token": csrf}, "challenge")
            challenge = json.loads(self._expect("challenge", got, 200)[2])["challenge"]
        else:
            challenge = carried.group(1)
        result = self._bridge_result(challenge)
        form = {"csrf_token": csrf, "result": result}
        got = self._send("POST", page + "/result", form, step="result")
        if self.resume:
            back = urlsplit(self._expect("result", got, 303)[1]["Location"])
            if back.netloc not in ("", self.host) or not back.path.startswith("/authorize/"):
                raise FlowError("result: not sent back to the authorization endpoint")
            got = self._expect("resume", self._send("GET", back.path, step="resume"), 303)
        else:
            got = self._expect("result", got, 302)
        location = got[1]["Location"]
        if not location.startswith(REDIRECT_URI + "?"):
            raise FlowError("result: not sent to the client's redirect URI")
        callback = _query(location)
        if callback.get("state") != state or "code" not in callback:
            raise FlowError("result: no code for this state")
        if callback.get("iss") != self.issuer:  # RFC 9207, as FAPI 2.0 requires
            raise FlowError("result: not this issuer's answer")
        access_token = self._token(callback["code"], verifier)
        self._userinfo(access_token)

    def _bridge_result(self, challenge: str) -> str:
        signature = self.signer.sign(signed_digest(self.origin, challenge))
        return json.dumps(
            {
                "version": 1,
                "purpose": "login",
                "origin": self.origin,
                "challenge": challenge,
                "certificate": b64url(self.signer.card.certificate_der),
                "signature": b64url(signature),
                "algorithm": "RS256",
                "format": "jpki-origin-challenge-v1",
            }
        )

    def _token(self, code: str, verifier: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
        }
        url = self.issuer + "/token"
        for _ in range(2):  # a second try only when the server asks for a fresh DPoP nonce
            form["client_assertion"] = self._assertion()
            got = self._send("POST", "/token", form, {"DPoP": self._proof("POST", url)}, "token")
            if got[0] == 400 and b"use_dpop_nonce" in got[2]:
                continue
            tokens = json.loads(self._expect("token", got, 200)[2])
            if tokens.get("token_type") != "DPoP":
                raise FlowError("token: not a DPoP token")
            return tokens["access_token"]
        raise FlowError("token: DPoP nonce refused twice")

    def _userinfo(self, access_token: str) -> None:
        headers = {
            "Authorization": "DPoP " + access_token,
            "DPoP": self._proof("GET", self.issuer + "/userinfo", access_token),
        }
        got = self._send("GET", "/userinfo", None, headers, "userinfo")
        claims = json.loads(self._expect("userinfo", got, 200)[2])
        if not claims.get("sub"):
            raise FlowError("userinfo: no sub")


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
