"""``jpki-bridge run`` end to end: HTTP on loopback, PIN on stdin, the card through pcscd and vpcd
in "Virtual PCD 00 01"."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from client_bridge import protocol
from tests.bridge.bridge_process import IDP, BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER, SIGN_PIN, InsertedCard
from tests.bridge.test_operation import verifies

pytestmark = pytest.mark.pcsc


@pytest.fixture
def bridge(reader_lock: None) -> Iterator[BridgeProcess]:
    process = BridgeProcess.start("--reader", READER)
    try:
        yield process
    finally:
        process.stop()


def result_of(body: dict) -> protocol.SignatureResult:
    result = body["result"]
    assert (result["version"], result["format"]) == (1, protocol.FORMAT)
    challenge = base64.urlsafe_b64decode(result["challenge"] + "=")
    certificate = base64.urlsafe_b64decode(result["certificate"] + "==")
    signature = base64.urlsafe_b64decode(result["signature"] + "==")
    return protocol.SignatureResult(result["purpose"], IDP, challenge, certificate, signature)


@pytest.mark.parametrize(("path", "pin"), [("/v1/authenticate", AUTH_PIN), ("/v1/sign", SIGN_PIN)])
def test_an_operation_over_http(bridge: BridgeProcess, inserted: InsertedCard, path, pin) -> None:
    started = bridge.start_operation(path)
    assert started.status == 202
    assert started.headers["Access-Control-Allow-Origin"] == IDP
    op = bridge.wait(started.body["id"], "starting")
    assert op["status"] == "pin_required"
    bridge.type_pin(pin)
    done = bridge.wait(op["id"], "pin_required")
    assert done["status"] == "done", done
    verifies(result_of(done), origin=IDP)


def test_wrong_pin_over_http(bridge: BridgeProcess, inserted: InsertedCard) -> None:
    op = bridge.wait(bridge.start_operation().body["id"], "starting")
    bridge.type_pin("9999")
    done = bridge.wait(op["id"], "pin_required")
    assert (done["status"], done["error"], done["tries_left"]) == ("failed", "wrong_pin", 2)
    assert "9999" not in "".join(bridge.output)


def test_card_removed_mid_operation_over_http(
    bridge: BridgeProcess, inserted: InsertedCard
) -> None:
    op = bridge.wait(bridge.start_operation().body["id"], "starting")
    assert op["status"] == "pin_required"
    inserted.remove()
    bridge.type_pin(AUTH_PIN)
    done = bridge.wait(op["id"], "pin_required")
    assert (done["status"], done["error"]) == ("failed", "card_removed")


def test_no_card_over_http(bridge: BridgeProcess) -> None:
    done = bridge.wait(bridge.start_operation().body["id"], "starting")
    assert (done["status"], done["error"]) == ("failed", "no_card")
    assert set(done["message"]) == {"ja", "en"}


def test_a_second_concurrent_operation_is_busy(
    bridge: BridgeProcess, inserted: InsertedCard
) -> None:
    first = bridge.wait(bridge.start_operation().body["id"], "starting")
    second = bridge.start_operation("/v1/sign")
    assert second.status == 409
    assert second.body["error"] == "busy"
    cancelled = bridge.call("DELETE", f"/v1/operations/{first['id']}").body
    assert (cancelled["status"], cancelled["error"]) == ("failed", "cancelled")
    assert bridge.start_operation().status == 202


def test_a_foreign_origin_is_refused_without_cors(bridge: BridgeProcess) -> None:
    refused = bridge.call("POST", "/v1/authenticate", {"challenge": "x", "service": "x"},
                          origin="https://evil.example")  # fmt: skip
    assert refused.status == 403
    assert refused.body["error"] == "forbidden_origin"
    assert not any(h.lower().startswith("access-control-") for h in refused.headers)
    preflight = bridge.call(
        "OPTIONS",
        "/v1/authenticate",
        origin="https://evil.example",
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert preflight.status == 403
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)


def test_a_foreign_host_is_refused(bridge: BridgeProcess) -> None:
    for host in ("attacker.example", f"attacker.example:{bridge.port}", f"192.0.2.2:{bridge.port}"):
        refused = bridge.call("GET", "/v1/status", host=host)
        assert refused.status == 403
        assert refused.body["error"] == "forbidden_host"
    assert bridge.call("GET", "/v1/status").status == 200


def test_the_bridge_listens_on_loopback_only(bridge: BridgeProcess) -> None:
    ss = ["ss", "-Hltn", f"sport = :{bridge.port}"]
    listening = subprocess.run(ss, capture_output=True, text=True, check=True).stdout.split()
    local = [field for field in listening if field.endswith(f":{bridge.port}")]
    assert local == [f"127.0.0.1:{bridge.port}"]
    for address in non_loopback_addresses():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, bridge.port), timeout=2).close()


def non_loopback_addresses() -> list[str]:
    output = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout
    return [a for a in output.split() if ":" not in a and not a.startswith("127.")]


def test_the_pin_typed_on_the_bridge_page(reader_lock: None, inserted: InsertedCard) -> None:
    bridge = BridgeProcess.start("--reader", READER, pin_stdin=False)
    try:
        op = bridge.wait(bridge.start_operation().body["id"], "starting")
        path = op["pin_url"].removeprefix(f"http://127.0.0.1:{bridge.port}")
        page = bridge.call("GET", path, origin=None, headers={"Accept-Language": "ja"})
        assert IDP in page.body.decode()
        token = re.search(r'name="token" value="([^"]+)"', page.body.decode()).group(1)
        form = urlencode({"token": token, "pin": "１２３４", "action": "sign"})
        own = f"http://127.0.0.1:{bridge.port}"
        foreign = bridge.post_form(path, form, origin=IDP)
        assert foreign.status == 403
        assert bridge.post_form(path, form, origin=own).status == 303
        done = bridge.wait(op["id"], "pin_required")
        assert done["status"] == "done", done
        verifies(result_of(done), origin=IDP)
    finally:
        bridge.stop()
