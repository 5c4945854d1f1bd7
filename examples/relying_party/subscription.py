"""The bank's Shared Signals stream at the IdP, and what its receiver (``signals``) needs to know.

``subscribe`` does what a bank's set-up does once (and again whenever its address changes):
read the transmitter's metadata (SSF 1.0 §7, ``/.well-known/ssf-configuration``), get an access
token for stream management with the bank's own credentials (client_credentials, private_key_jwt,
scope ``ssf``, DPoP-bound when the IdP binds it), create the bank's stream or update the one it
has (§8.1.1; push delivery, RFC 8935, to ``/ssf/events`` with an ``authorization_header`` of
the bank's own), and ask for a verification event (§8.1.4) whose ``state`` the running bank
checks when it arrives. The stream's id, the push secret and the expected state are kept in the
instance folder (``ssf-stream.json``), where the bank's server reads them: the set-up command
and the server may be two processes.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc7523 import private_key_jwt_sign
from flask import current_app
from joserfc.jwk import KeySet

from .idp_client import IdpClient
from .protocol import IdpError
from .settings import BankSettings
from .signals import Refused, requested

PUSH = "urn:ietf:rfc:8935"
STREAM_FILE = "ssf-stream.json"
SCOPE = "ssf"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def well_known(issuer: str) -> str:
    """SSF 1.0 §7.2: the well-known segment goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}/.well-known/ssf-configuration{parts.path}".rstrip("/")


class Receiver:
    """The bank's side of its stream: the transmitter's metadata and keys, the stream kept in
    the instance folder, and the checks that need them (push secret, verification state)."""

    def __init__(self, settings: BankSettings, idp: IdpClient) -> None:
        self.settings = settings
        self.idp = idp
        self.issuer = idp.issuer
        self._configuration: dict | None = None
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    @property
    def client_id(self) -> str:
        return self.idp.client_id

    @property
    def path(self):
        return self.settings.instance / STREAM_FILE

    # --- the transmitter ------------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        """The transmitter's metadata, fetched once; its ``issuer`` must be the bank's IdP."""
        with self._lock:
            if self._configuration is None:
                found = self.idp._json(self.idp._http("GET", well_known(self.issuer)))
                if found.get("issuer") != self.issuer:
                    raise IdpError("invalid_issuer", "the SSF metadata names another issuer")
                self._configuration = found
            return self._configuration

    def endpoint(self, name: str) -> str:
        url = self.configuration().get(name)
        if not isinstance(url, str):
            raise IdpError("invalid_metadata", f"the transmitter does not offer {name}")
        return url

    def keys(self, refresh: bool = False) -> KeySet:
        """The transmitter's signing keys (``jwks_uri``); fetched again for an unknown ``kid``."""
        with self._lock:
            cached = self._keys
        if cached is None or refresh:
            cached = KeySet.import_key_set(
                self.idp._json(self.idp._http("GET", self.endpoint("jwks_uri")))
            )
            with self._lock:
                self._keys = cached
        return cached

    # --- the stream as kept ---------------------------------------------------------------------

    def stream(self) -> dict[str, Any]:
        try:
            found = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def keep(self, **changes: Any) -> dict[str, Any]:
        kept = {**self.stream(), **changes}
        temporary = self.path.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.write_text(json.dumps(kept))
        temporary.replace(self.path)
        return kept

    def authenticate(self, header: str | None) -> None:
        """RFC 8935 §2: the push carries the ``authorization_header`` the bank gave its stream.
        Before the bank has a stream, the SET's signature is the only proof of its origin."""
        expected = self.stream().get("authorization")
        if expected and not hmac.compare_digest((header or "").encode(), expected.encode()):
            raise Refused("authentication_failed", "no or another Authorization header", 401)

    def verified(self, state: object, claims: dict[str, Any]) -> str:
        """SSF 1.0 §8.1.4.2: the verification event carries the ``state`` the bank sent."""
        kept = self.stream()
        sub_id = claims.get("sub_id") or {}
        if kept.get("stream_id") and sub_id.get("id", kept["stream_id"]) != kept["stream_id"]:
            raise Refused("invalid_request", "a verification event for another stream")
        expected = kept.get("verification_state")
        if not expected or not isinstance(state, str) or not hmac.compare_digest(state, expected):
            raise Refused("invalid_state", "not the state of the bank's verification request")
        self.keep(verification_state=None, verified_at=int(time.time()))
        return "stream verified"

    # --- talking to the transmitter -------------------------------------------------------------

    def access_token(self) -> tuple[str, str]:
        """A stream-management token: client_credentials with private_key_jwt (and DPoP)."""
        url = self.idp.endpoint("token_endpoint")
        now = int(time.time())

        def call(headers: dict[str, str]):
            assertion = private_key_jwt_sign(
                self.idp.client_key,
                client_id=self.client_id,
                token_endpoint=url,
                alg="ES256",
                claims={"iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(24)},
                header={"kid": self.idp.client_key.kid},
            )
            form = {
                "grant_type": "client_credentials",
                "scope": SCOPE,
                "client_id": self.client_id,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
            return self.idp._http("POST", url, data=form, headers=headers)

        token = self.idp._json(self.idp.dpop.send("POST", url, call))
        if not isinstance(token.get("access_token"), str):
            raise IdpError("invalid_response", "no access token")
        return token["access_token"], str(token.get("token_type", "Bearer"))

    def call(self, token: tuple[str, str], method: str, url: str, **kwargs) -> Any:
        """A stream-management request with the token (and a DPoP proof when DPoP-bound)."""
        access_token, token_type = token
        bound = token_type.lower() == "dpop"

        def send(headers: dict[str, str]):
            scheme = "DPoP" if bound else "Bearer"
            headers = {**headers, "Authorization": f"{scheme} {access_token}"}
            return self.idp._http(method, url, headers=headers, **kwargs)

        if bound:
            response = self.idp.dpop.send(method, url, send, access_token=access_token)
        else:
            response = send({})
        if response.status_code == 204:
            return None
        if response.status_code == 404:
            raise IdpError("not_found", f"{method} {url}")
        if not response.content:
            return None
        try:
            listed = response.json()
        except ValueError:
            listed = None
        if isinstance(listed, list) and response.status_code == 200:
            return listed  # §8.1.1.2: the streams of this receiver
        return self.idp._json(response)


def receiver(app=None) -> Receiver:
    app = app or current_app
    return app.extensions["bank.receiver"]


def subscribe(found: Receiver, wait: float = 30.0) -> dict[str, Any]:
    """Create or update the bank's push stream and have it verified (the bank must be serving
    ``/ssf/events`` at its base URL for the verification event to arrive)."""
    configuration = found.configuration()
    methods = configuration.get("delivery_methods_supported") or [PUSH]
    if PUSH not in methods:
        raise IdpError("invalid_metadata", "the transmitter does not push (RFC 8935)")
    kept = found.stream()
    authorization = kept.get("authorization") or f"Bearer {secrets.token_urlsafe(32)}"
    found.keep(authorization=authorization)  # before the transmitter may push with it
    delivery = {
        "method": PUSH,
        "endpoint_url": found.settings.url("/ssf/events"),
        "authorization_header": authorization,
    }
    token = found.access_token()
    url = found.endpoint("configuration_endpoint")
    events = requested(found.issuer)
    body = {"delivery": delivery, "events_requested": events, "description": "Sample Bank"}
    stream = _existing(found, token, url)
    if stream:
        body["stream_id"] = stream["stream_id"]
        stream = found.call(token, "PATCH", url, json=body)
    else:
        stream = found.call(token, "POST", url, json=body)
    if not isinstance(stream, dict) or not isinstance(stream.get("stream_id"), str):
        raise IdpError("invalid_response", "the transmitter returned no stream")
    state = secrets.token_urlsafe(24)
    found.keep(stream_id=stream["stream_id"], verification_state=state, verified_at=None)
    verification = {"stream_id": stream["stream_id"], "state": state}
    found.call(token, "POST", found.endpoint("verification_endpoint"), json=verification)
    deadline = time.monotonic() + wait
    while not found.stream().get("verified_at") and time.monotonic() < deadline:
        time.sleep(0.1)
    return {
        "stream_id": stream["stream_id"],
        "events_delivered": stream.get("events_delivered", []),
        "verified": bool(found.stream().get("verified_at")),
    }


def _existing(found: Receiver, token: tuple[str, str], url: str) -> dict | None:
    """The bank's stream if it has one: the kept id, else the one the IdP lists (the kept file
    may be gone, or name a stream the IdP no longer has)."""
    kept = found.stream().get("stream_id")
    if kept:
        try:
            return found.call(token, "GET", url, params={"stream_id": kept})
        except IdpError as e:
            if e.error != "not_found":
                raise
    listed = found.call(token, "GET", url)
    if isinstance(listed, list):
        listed = listed[0] if listed else None
    return listed if isinstance(listed, dict) and listed.get("stream_id") else None
