"""``jpki-bridge run`` as a subprocess for the end-to-end tests, and a small HTTP client for it.

http.client is used rather than a browser-like client because the tests must send the headers an
attacker would (a foreign Host, a foreign Origin) exactly as written.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IDP = "https://idp.example.jp"
JPKI_BRIDGE = str(Path(sys.executable).with_name("jpki-bridge"))
CHALLENGE = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
START_TIMEOUT = 20.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class BridgeProcess:
    process: subprocess.Popen[str]
    port: int = 0
    output: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, *args: str, pin_stdin: bool = True) -> BridgeProcess:
        """Start with ``--port 0`` and wait for the line that names the port."""
        command = [JPKI_BRIDGE, "run", "--port", "0", "--allow-origin", IDP, *args]
        command += ["--pin-stdin"] if pin_stdin else []
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        bridge = cls(process)
        found = threading.Event()

        def drain() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                bridge.output.append(line)
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if match:
                    bridge.port = int(match.group(1))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(START_TIMEOUT):
            bridge.stop()
            raise RuntimeError(f"the bridge did not start: {''.join(bridge.output)}")
        return bridge

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdin:
            self.process.stdin.close()
        return self.process.returncode

    def type_pin(self, pin: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(pin + "\n")
        self.process.stdin.flush()

    def call(self, method: str, path: str, body: Any = None, origin: str | None = IDP,
             host: str | None = None, headers: dict[str, str] | None = None) -> Answer:  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=40)
        sent = {"Host": host or f"127.0.0.1:{self.port}", **(headers or {})}
        if origin is not None:
            sent["Origin"] = origin
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            content = (
                json.loads(raw)
                if raw and "json" in response.headers.get("Content-Type", "")
                else raw
            )
            return Answer(response.status, dict(response.headers), content)
        finally:
            connection.close()

    def post_form(self, path: str, form: str, origin: str) -> Answer:
        """A form POST as the browser sends it from a page on ``origin``."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=40)
        headers = {"Host": f"127.0.0.1:{self.port}", "Origin": origin,
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        try:
            connection.request("POST", path, body=form.encode(), headers=headers)
            response = connection.getresponse()
            return Answer(response.status, dict(response.headers), response.read())
        finally:
            connection.close()

    def start_operation(self, path: str = "/v1/authenticate", challenge: str = CHALLENGE) -> Answer:
        return self.call("POST", path, {"challenge": challenge, "service": "Sample Bank"})

    def wait(self, op_id: str, state: str) -> dict[str, Any]:
        """The operation once it has left ``state`` and ``working`` (long polls)."""
        body = self.call("GET", f"/v1/operations/{op_id}?wait=20&state={state}").body
        while body.get("status") == "working":
            body = self.call("GET", f"/v1/operations/{op_id}?wait=20&state=working").body
        return body
