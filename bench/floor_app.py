"""The least a card login can cost in this stack: ``bench.floor``'s server side.

Six endpoints shaped like the IdP's (PAR, authorize, the card page, the card's result, token,
userinfo) that do only what no implementation of the login can skip, with the libraries the
project uses, and nothing else: no storage, no replay caches, no templates, no consent, no
revocation. With ``FLOOR_WORK=crypto`` (the default) that is the cryptography:

- ``POST /par`` and ``POST /token``: the client's private_key_jwt assertion (ES256, joserfc);
- ``POST /login/card/<tx>/result``: the card certificate parsed, its issuer's signature and its
  validity checked, the card's RSA signature over the challenge checked (cryptography);
- ``POST /token``: the DPoP proof (ES256, key from its header), then an access token and an ID
  token signed (ES256, joserfc: what bench.flow's FAPI client registers, as the IdP then signs
  both with ES256; ``FLOOR_TOKEN_ALG=RS256`` for the IdP's default);
- ``GET /userinfo``: the access token's signature and the DPoP proof bound to it.

With ``FLOOR_WORK=none`` each endpoint answers the same shapes without checking or signing
anything: what the HTTP server and the framework cost by themselves. ``FLOOR_FRAMEWORK``
chooses a plain WSGI callable (``plain``) or the same handlers as Flask views (``flask``).
The keys and certificates come from ``FLOOR_DIR`` (written by ``bench.floor``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

ORIGIN = "http://127.0.0.1"
CLIENT_ID = "floor-client"
Answer = tuple[str, list[tuple[str, str]], bytes]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(status: str, value: dict) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(value).encode()


def _redirect(location: str) -> Answer:
    return "303 See Other", [("Location", location)], b""


class Keys:
    """What ``bench.floor.write_keys`` left in ``FLOOR_DIR``: read once per worker."""

    def __init__(self, folder: Path) -> None:
        self.client = ECKey.import_key(json.loads((folder / "client.json").read_text()))
        self.alg = os.environ.get("FLOOR_TOKEN_ALG", "ES256")
        signing = ECKey if self.alg == "ES256" else RSAKey
        self.signing = signing.import_key((folder / f"idp-{self.alg}.pem").read_bytes())
        self.ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        self.issuer = (folder / "issuer").read_text()


class Floor:
    """The six endpoints; ``crypto`` False answers the same shapes without the work."""

    def __init__(self, keys: Keys, crypto: bool) -> None:
        self.keys, self.crypto = keys, crypto

    def par(self, form: dict) -> Answer:
        self._client(form)
        return _json(
            "201 Created",
            {"request_uri": "urn:floor:" + secrets.token_urlsafe(24), "expires_in": 60},
        )

    def authorize(self) -> Answer:
        return _redirect(f"/login/card/{secrets.token_urlsafe(16)}")

    def page(self, tx: str) -> Answer:
        challenge = _b64(secrets.token_bytes(32))
        body = PAGE.replace("{challenge}", challenge).replace("{tx}", tx).encode()
        return "200 OK", [("Content-Type", "text/html; charset=utf-8")], body

    def result(self, body: dict) -> Answer:
        if self.crypto:
            certificate = x509.load_der_x509_certificate(base64.b64decode(body["certificate"]))
            certificate.verify_directly_issued_by(self.keys.ca)
            now = time.time()
            valid = certificate.not_valid_before_utc.timestamp() <= now
            if not valid or certificate.not_valid_after_utc.timestamp() < now:
                raise ValueError("certificate not valid now")
            digest = _signed_digest(ORIGIN, body["challenge"])
            certificate.public_key().verify(
                base64.b64decode(body["signature"]),
                digest,
                padding.PKCS1v15(),
                Prehashed(hashes.SHA256()),
            )
        return _redirect(f"https://rp.example/cb?code={secrets.token_urlsafe(32)}&iss=floor")

    def token(self, form: dict, dpop: str) -> Answer:
        self._client(form)
        jkt = self._proof(dpop, "POST", "/token", None)
        now = int(time.time())
        claims = {
            "iss": self.keys.issuer,
            "sub": "floor-subject",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
        access = self._sign({**claims, "cnf": {"jkt": jkt}, "scope": "openid"})
        id_token = self._sign({**claims, "auth_time": now, "acr": "jpki", "nonce": "n"})
        return _json(
            "200 OK",
            {"access_token": access, "token_type": "DPoP", "expires_in": 300, "id_token": id_token},
        )

    def userinfo(self, authorization: str, dpop: str) -> Answer:
        token = authorization.removeprefix("DPoP ")
        if self.crypto:
            claims = jwt.decode(token, self.keys.signing, algorithms=[self.keys.alg]).claims
            if claims["exp"] < time.time():
                raise ValueError("expired")
            ath = _b64(hashlib.sha256(token.encode()).digest())
            if self._proof(dpop, "GET", "/userinfo", ath) != claims["cnf"]["jkt"]:
                raise ValueError("proof by another key")
        return _json("200 OK", {"sub": "floor-subject"})

    def _client(self, form: dict) -> None:
        if not self.crypto:
            return
        claims = jwt.decode(form["client_assertion"], self.keys.client, algorithms=["ES256"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": CLIENT_ID},
            sub={"essential": True, "value": CLIENT_ID},
            exp={"essential": True},
            jti={"essential": True},
        )
        registry.validate(claims.claims)

    def _proof(self, proof: str, method: str, path: str, ath: str | None) -> str:
        if not self.crypto:
            return "jkt"
        compact = jws.extract_compact(proof.encode())
        key = ECKey.import_key(compact.protected["jwk"])
        jws.validate_compact(compact, key, algorithms=["ES256"])
        claims = json.loads(compact.payload)
        htu = self.keys.issuer + path
        if compact.protected.get("typ") != "dpop+jwt" or claims["htm"] != method:
            raise ValueError("not a DPoP proof for this request")
        if claims["htu"] != htu or abs(claims["iat"] - time.time()) > 60:
            raise ValueError("stale or misdirected proof")
        if ath is not None and claims.get("ath") != ath:
            raise ValueError("proof for another token")
        return key.thumbprint()

    def _sign(self, claims: dict) -> str:
        if not self.crypto:
            return _b64(secrets.token_bytes(200))
        return jwt.encode({"alg": self.keys.alg, "kid": "floor"}, claims, self.keys.signing)


def _signed_digest(origin: str, challenge: str) -> bytes:
    raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    value = hashlib.sha256(origin.encode()).digest() + hashlib.sha256(raw).digest()
    return hashlib.sha256(value).digest()


PAGE = (
    """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>マイナンバーカードでログイン</title></head><body><main>
<form method="post" action="/login/card/{tx}/result" data-challenge="{challenge}">
<input type="hidden" name="csrf_token" value="floor"></form>
"""
    + "<p>"
    + "カードをリーダーに置いてください。" * 60
    + "</p></main></body></html>"
)
"""About the size of the IdP's login page (~4 KB)."""


def plain_app(floor: Floor):
    """A WSGI callable routing by hand: what a server costs with no framework at all."""

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        status, headers, body = _route(floor, path, raw, environ)
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return app


def _route(floor: Floor, path: str, raw: bytes, environ: dict) -> Answer:
    if path == "/par":
        return floor.par(dict(parse_qsl(raw.decode())))
    if path == "/authorize":
        parse_qsl(environ.get("QUERY_STRING", ""))  # parsed, as any server must; not used
        return floor.authorize()
    if path == "/token":
        return floor.token(dict(parse_qsl(raw.decode())), environ.get("HTTP_DPOP", ""))
    if path == "/userinfo":
        return floor.userinfo(environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_DPOP", ""))
    if path == "/jwks":
        return _json("200 OK", {"keys": []})  # bench.flow.Gunicorn.wait_ready asks for it
    if path.startswith("/login/card/") and path.endswith("/result"):
        return floor.result(json.loads(raw))
    if path.startswith("/login/card/"):
        return floor.page(path.split("/")[3])
    return "404 Not Found", [], b""


def flask_app(floor: Floor):
    """The same handlers as Flask views: what the framework adds."""
    from flask import Flask, Response, request

    app = Flask(__name__)

    def reply(answer: Answer) -> Response:
        status, headers, body = answer
        return Response(body, status=status, headers=headers)

    app.add_url_rule("/jwks", "jwks", lambda: reply(_json("200 OK", {"keys": []})))
    app.add_url_rule("/par", "par", lambda: reply(floor.par(request.form)), methods=["POST"])
    app.add_url_rule("/authorize", "authorize", lambda: reply(floor.authorize()))
    app.add_url_rule("/login/card/<tx>", "page", lambda tx: reply(floor.page(tx)))
    app.add_url_rule(
        "/login/card/<tx>/result",
        "result",
        lambda tx: reply(floor.result(request.get_json())),  # noqa: ARG005 - the route has it
        methods=["POST"],
    )
    app.add_url_rule(
        "/token",
        "token",
        lambda: reply(floor.token(request.form, request.headers.get("DPoP", ""))),
        methods=["POST"],
    )
    app.add_url_rule(
        "/userinfo",
        "userinfo",
        lambda: reply(
            floor.userinfo(
                request.headers.get("Authorization", ""), request.headers.get("DPoP", "")
            )
        ),
    )
    return app


def make_app():
    floor = Floor(Keys(Path(os.environ["FLOOR_DIR"])), os.environ.get("FLOOR_WORK") != "none")
    return (flask_app if os.environ.get("FLOOR_FRAMEWORK") == "flask" else plain_app)(floor)


app = make_app() if "FLOOR_DIR" in os.environ else None
