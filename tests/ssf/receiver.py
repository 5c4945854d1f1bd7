"""A Shared Signals receiver written from the specifications, sharing no code with the IdP's
transmitter: it reads the transmitter's metadata (SSF 1.0 §7), gets a stream-management token
with its own private_key_jwt assertion (RFC 6749 §4.4, RFC 7523), manages its stream (§8.1),
receives SETs by push (RFC 8935, a real HTTP server on loopback) and by poll (RFC 8936), and
checks each one itself against the transmitter's JWKS (RFC 8417 §2.3, SSF 1.0 §4.1)."""

from __future__ import annotations

import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"


def path_of(url: str) -> str:
    """The path and query of an absolute URL: what the Flask test client is asked for."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Receiver:
    """One relying party's receiver, talking to the IdP through ``http`` (a Flask test client)."""

    def __init__(self, http, issuer: str, client_id: str, key) -> None:
        self.http, self.issuer, self.client_id, self.key = http, issuer, client_id, key
        self.metadata = http.get("/.well-known/ssf-configuration").json
        self.token_endpoint = http.get("/.well-known/openid-configuration").json["token_endpoint"]
        self.access_token: str | None = None

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_endpoint,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)

    def request_token(self, scope: str = "ssf", **form):
        body = {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            **form,
        }
        return self.http.post(path_of(self.token_endpoint), data=body)

    def token(self) -> str:
        if self.access_token is None:
            answer = self.request_token()
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert answer.json["token_type"] == "Bearer"  # noqa: S105 (a type name)
            assert "refresh_token" not in answer.json
            self.access_token = answer.json["access_token"]
        return self.access_token

    def call(self, method: str, endpoint: str, body=None, token: str | None = None, **kwargs):
        """A management request to the metadata's ``endpoint`` (or a URL) with our token."""
        url = self.metadata.get(endpoint, endpoint)
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        if body is not None:
            kwargs["json"] = body
        return self.http.open(path_of(url), method=method, headers=headers, **kwargs)

    def create_stream(self, delivery: dict | None = None, **body) -> dict:
        if delivery is not None:
            body["delivery"] = delivery
        answer = self.call("POST", "configuration_endpoint", body)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        stream = answer.json
        assert stream["iss"] == self.issuer
        assert stream["aud"] == self.client_id
        return stream

    def poll(self, stream: dict, **body) -> dict:
        body.setdefault("returnImmediately", True)
        answer = self.call("POST", stream["delivery"]["endpoint_url"], body)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.json

    def keys(self) -> KeySet:
        return KeySet.import_key_set(self.http.get(path_of(self.metadata["jwks_uri"])).json)

    def check(self, token: str) -> dict:
        """The claims of a SET after every check a receiver owes it; AssertionError otherwise."""
        decoded = jwt.decode(token, self.keys(), algorithms=["ES256", "PS256", "RS256"])
        header, claims = decoded.header, decoded.claims
        assert header["typ"] == "secevent+jwt"
        assert header["kid"] in {key.kid for key in self.keys().keys}
        assert claims["iss"] == self.issuer == self.metadata["issuer"]
        assert claims["aud"] == self.client_id
        assert "sub" not in claims
        assert "exp" not in claims
        assert isinstance(claims["jti"], str)
        assert isinstance(claims["iat"], int)
        assert abs(claims["iat"] - time.time()) < 600
        assert len(claims["events"]) == 1
        return claims


class PushEndpoint:
    """The receiver's RFC 8935 endpoint: a real HTTP server on loopback that keeps what it got
    and answers 202, or what ``answer`` says (status, body) while it is set."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.answer: tuple[int, bytes] | None = None
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, reply = outer.answer or (202, b"")
                if status == 202:
                    with outer.arrived:
                        outer.received.append((dict(self.headers), body))
                        outer.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ssf/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict, bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
