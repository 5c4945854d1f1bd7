"""The loopback API in process: Host and Origin checks, CORS and PNA, busy, rate limit, results.

The card is the in-process sandbox card and the PIN comes through the bridge's own page; the
same checks through a real server and PC/SC are in test_server.py.
"""

from __future__ import annotations

import base64
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from client_bridge.app import create_app
from client_bridge.settings import BridgeSettings
from tests.bridge.conftest import AUTH_PIN, IDP, Clock

BASE = "http://127.0.0.1:8003"
CHALLENGE = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
BODY = {"challenge": CHALLENGE, "service": "Sample Bank"}


def call(client: FlaskClient, method: str, path: str, origin: str | None = IDP, **kwargs):
    headers = kwargs.pop("headers", {})
    if origin is not None:
        headers["Origin"] = origin
    return client.open(path, method=method, base_url=BASE, headers=headers, **kwargs)


def start(client: FlaskClient, path: str = "/v1/authenticate"):
    return call(client, "POST", path, json=BODY)


def test_status_answers_an_allowed_origin_with_cors(client: FlaskClient) -> None:
    response = call(client, "GET", "/v1/status")
    assert response.status_code == 200
    assert response.json["protocol"] == 2  # the highest it speaks (two-key operation, §9)
    assert response.headers["Access-Control-Allow-Origin"] == IDP
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", IDP + ":8443", None])
def test_a_foreign_or_missing_origin_gets_403_and_no_cors(client: FlaskClient, origin) -> None:
    for method, path in [("GET", "/v1/status"), ("POST", "/v1/authenticate")]:
        response = call(client, method, path, origin=origin, json=BODY)
        assert response.status_code == 403
        assert response.json["error"] == "forbidden_origin"
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("host", ["evil.example:8003", "127.0.0.1:8004", "192.168.1.5:8003", ""])
def test_a_foreign_host_gets_403_before_anything_else(client: FlaskClient, host: str) -> None:
    response = call(client, "GET", "/v1/status", headers={"Host": host})
    assert response.status_code == 403
    assert response.json["error"] == "forbidden_host"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_localhost_by_name_is_accepted(client: FlaskClient) -> None:
    response = call(client, "GET", "/v1/status", headers={"Host": "localhost:8003"})
    assert response.status_code == 200


def test_preflight_grants_private_network_access_to_allowed_origins_only(
    client: FlaskClient,
) -> None:
    pna = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Private-Network": "true",
    }
    allowed = call(client, "OPTIONS", "/v1/authenticate", headers=dict(pna))
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Private-Network"] == "true"
    assert allowed.headers["Access-Control-Allow-Origin"] == IDP
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    foreign = call(client, "OPTIONS", "/v1/authenticate", origin="https://evil.example",
                   headers=dict(pna))  # fmt: skip
    assert foreign.status_code == 403
    assert "Access-Control-Allow-Private-Network" not in foreign.headers
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_preflight_without_pna_request_gets_no_pna_header(client: FlaskClient) -> None:
    response = call(
        client, "OPTIONS", "/v1/sign", headers={"Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert "Access-Control-Allow-Private-Network" not in response.headers


@pytest.mark.parametrize(
    "body",
    [None, [], {"challenge": CHALLENGE}, {**BODY, "origin": "https://evil.example"},
     {**BODY, "challenge": "c2hvcnQ"}, {**BODY, "version": 2}, {**BODY, "version": True}],
)  # fmt: skip
def test_a_bad_body_is_400_and_starts_nothing(client: FlaskClient, body) -> None:
    response = call(client, "POST", "/v1/authenticate", json=body)
    assert response.status_code == 400
    assert response.json["error"] == "bad_request"
    assert start(client).status_code == 202


def test_a_form_encoded_body_is_refused(client: FlaskClient) -> None:
    response = call(client, "POST", "/v1/authenticate", data=BODY)
    assert response.status_code == 400


def pin_page(client: FlaskClient, op: dict):
    path = op["pin_url"].removeprefix(BASE)
    page = client.get(path, base_url=BASE, headers={"Accept-Language": "en"})
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    return path, page, token.group(1) if token else None


def submit_pin(client: FlaskClient, path: str, token: str, pin: str, origin: str = BASE):
    return client.post(path, base_url=BASE, headers={"Origin": origin},
                       data={"token": token, "pin": pin, "action": "sign"})  # fmt: skip


def wait_done(client: FlaskClient, op: dict) -> dict:
    return call(client, "GET", f"/v1/operations/{op['id']}?wait=10&state=pin_required").json


def test_authenticate_through_the_pin_page(client: FlaskClient) -> None:
    started = start(client)
    assert started.status_code == 202
    op = call(client, "GET", f"/v1/operations/{started.json['id']}?wait=5&state=starting").json
    assert op["status"] == "pin_required"
    assert op["tries_left"] == 3
    path, page, token = pin_page(client, op)
    assert IDP in page.text
    assert "Sample Bank" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert token is not None
    assert token not in str(op)
    assert submit_pin(client, path, token, AUTH_PIN).status_code == 303
    done = wait_done(client, op)
    assert done["status"] == "done"
    assert done["result"]["purpose"] == "login"
    assert done["result"]["origin"] == IDP
    assert set(done["result"]) == {"version", "purpose", "origin", "challenge", "certificate",
                                   "signature", "algorithm", "format"}  # fmt: skip
    assert AUTH_PIN not in str(done)


def test_the_pin_form_is_refused_from_another_origin_or_without_token(client) -> None:
    op = call(
        client, "GET", f"/v1/operations/{start(client).json['id']}?wait=5&state=starting"
    ).json
    path, _, token = pin_page(client, op)
    assert submit_pin(client, path, token, AUTH_PIN, origin=IDP).status_code == 403
    assert submit_pin(client, path, "forged", AUTH_PIN).status_code == 403
    assert call(client, "GET", f"/v1/operations/{op['id']}").json["status"] == "pin_required"


def test_a_badly_shaped_pin_is_asked_again_without_spending_a_try(client) -> None:
    op = call(
        client, "GET", f"/v1/operations/{start(client).json['id']}?wait=5&state=starting"
    ).json
    path, _, token = pin_page(client, op)
    again = submit_pin(client, path, token, "12")
    assert again.status_code == 400
    assert "形式が違います" in again.text
    assert submit_pin(client, path, token, AUTH_PIN).status_code == 303
    assert wait_done(client, op)["status"] == "done"


def test_a_wrong_pin_fails_the_operation_with_tries_left(client: FlaskClient) -> None:
    op = call(
        client, "GET", f"/v1/operations/{start(client).json['id']}?wait=5&state=starting"
    ).json
    path, _, token = pin_page(client, op)
    submit_pin(client, path, token, "9999")
    done = wait_done(client, op)
    assert (done["status"], done["error"], done["tries_left"]) == ("failed", "wrong_pin", 2)
    assert set(done["message"]) == {"ja", "en"}


def test_the_failure_that_leaves_one_try_says_the_next_is_the_last(client: FlaskClient) -> None:
    for tries_left in (2, 1):
        op = call(
            client, "GET", f"/v1/operations/{start(client).json['id']}?wait=5&state=starting"
        ).json
        path, _, token = pin_page(client, op)
        submit_pin(client, path, token, "9999")
        done = wait_done(client, op)
        assert (done["tries_left"], done["last_try"]) == (tries_left, tries_left == 1)


def test_a_second_operation_while_one_runs_is_busy(client: FlaskClient) -> None:
    first = start(client)
    second = start(client, "/v1/sign")
    assert second.status_code == 409
    assert second.json["error"] == "busy"
    assert second.headers["Access-Control-Allow-Origin"] == IDP
    call(client, "DELETE", f"/v1/operations/{first.json['id']}")


def test_cancel_ends_the_operation(client: FlaskClient) -> None:
    op = call(
        client, "GET", f"/v1/operations/{start(client).json['id']}?wait=5&state=starting"
    ).json
    cancelled = call(client, "DELETE", f"/v1/operations/{op['id']}").json
    assert (cancelled["status"], cancelled["error"]) == ("failed", "cancelled")
    assert start(client).status_code == 202


def test_an_operation_is_invisible_to_other_origins(app: Flask, connector, clock) -> None:
    settings = BridgeSettings(frozenset({IDP, "https://other.example"}), port=8003)
    client = create_app(settings, connect=connector, clock=clock).test_client()
    op = start(client).json
    other = call(client, "GET", f"/v1/operations/{op['id']}", origin="https://other.example")
    assert other.status_code == 404
    assert call(client, "DELETE", f"/v1/operations/{op['id']}", origin="https://other.example"
                ).status_code == 404  # fmt: skip
    call(client, "DELETE", f"/v1/operations/{op['id']}")


def test_requests_are_rate_limited_per_origin(client: FlaskClient, clock: Clock) -> None:
    for _ in range(120):
        assert call(client, "GET", "/v1/operations/nothing").status_code == 404
    limited = call(client, "GET", "/v1/status")
    assert limited.status_code == 429
    assert limited.json["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    clock.now += 61
    assert call(client, "GET", "/v1/operations/nothing").status_code == 404


def test_operations_are_rate_limited_more_tightly(client: FlaskClient, clock: Clock) -> None:
    for _ in range(10):
        op = start(client).json
        call(client, "DELETE", f"/v1/operations/{op['id']}?wait=5")
    assert start(client).status_code == 429
