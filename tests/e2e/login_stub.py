"""A tiny page that plays the IdP's login page against a real bridge, on its own loopback origin.

It does what the login page does (docs/bridge-protocol.md, "A login page, step by step"): on a
button press it opens a window, calls ``POST /v1/authenticate`` (``/v1/sign`` when opened with
``?key=sign``) with ``fetch()``, shows the bridge's ``pin_url`` in that window, long-polls the
operation until it ends, shows the outcome in a live region, and posts the operation it ended with
back here so the test can check the signature.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Login (test stand-in for the IdP page)</title></head>
<body>
<main>
<h1>Log in with your My Number Card</h1>
<button id="login" type="button">Log in</button>
<p id="outcome" role="status"></p>
</main>
<script>
const BRIDGE = __BRIDGE__;
const CHALLENGE = __CHALLENGE__;
const outcome = document.getElementById("outcome");
document.getElementById("login").addEventListener("click", async () => {
  outcome.textContent = "";
  const key = new URLSearchParams(location.search).get("key") === "sign" ? "sign" : "authenticate";
  // As docs/bridge-protocol.md shows: the window first, so that no popup blocker interferes.
  const win = window.open("about:blank", "jpki-bridge", "width=480,height=640");
  let op = await (await fetch(BRIDGE + "/v1/" + key, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({challenge: CHALLENGE, service: "Sample Bank"}),
  })).json();
  win.location = op.pin_url;
  while (op.status !== "done" && op.status !== "failed") {
    const url = BRIDGE + "/v1/operations/" + op.id + "?wait=20&state=" + op.status;
    op = await (await fetch(url)).json();
  }
  await fetch("/operation", {method: "POST", body: JSON.stringify(op)});
  outcome.textContent = op.status === "done" ? "done" : "failed: " + op.error;
});
</script>
</body>
</html>
"""


@dataclass
class LoginStub:
    """Serves the page on ``origin``; ``operations`` collects what each attempt ended with."""

    bridge: str = ""
    challenge: str = field(
        default_factory=lambda: (
            base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        )
    )
    operations: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> LoginStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = (
                    PAGE.replace("__BRIDGE__", json.dumps(stub.bridge))
                    .replace("__CHALLENGE__", json.dumps(stub.challenge))
                    .encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                stub.operations.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
