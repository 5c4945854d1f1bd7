"""HTTP for OCSP and CRLs: every failure is ours, with its reason."""

from __future__ import annotations

import http.server
import io
import threading
import time
from collections.abc import Iterator

import pytest

from idp.jpki.errors import ResponderTimeout, ResponderUnavailable
from idp.jpki.transport import HttpTransport


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # else the close resets
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "ftp://example.com/x")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.0)
            self._ok(b"late")
        elif self.path == "/big":
            self._ok(b"x" * 200_000)
        else:
            self._ok(b"hello")

    def _ok(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_answer_body_is_returned(base):
    assert HttpTransport().post(base + "/", b"q", "application/ocsp-request", 2) == b"hello"


def test_redirect_is_not_followed(base):
    with pytest.raises(ResponderUnavailable, match="302"):
        HttpTransport().post(base + "/redirect", b"q", "application/ocsp-request", 2)


def test_slow_answer_is_responder_timeout(base):
    with pytest.raises(ResponderTimeout):
        HttpTransport().post(base + "/slow", b"q", "application/ocsp-request", 0.2)


def test_oversized_ocsp_answer_is_refused(base):
    with pytest.raises(ResponderUnavailable, match="larger"):
        HttpTransport().post(base + "/big", b"q", "application/ocsp-request", 2)


def test_download_stops_at_its_byte_limit(base):
    with pytest.raises(ResponderUnavailable, match="larger"):
        HttpTransport().download(base + "/big", io.BytesIO(), 2, 100_000)


def test_other_schemes_are_refused():
    with pytest.raises(ResponderUnavailable, match="scheme"):
        HttpTransport().post("file:///etc/passwd", b"q", "application/ocsp-request", 2)
