"""The bridge's own PIN page: both languages, the warning before the last try, cancel, and no
form at all when PINs come from standard input."""

from __future__ import annotations

import os

import pytest
from flask.testing import FlaskClient

from client_bridge.app import create_app
from client_bridge.broker import Broker
from client_bridge.pin_stdin import stdin_pin_reader
from client_bridge.settings import BridgeSettings
from tests.bridge.test_api import BASE, IDP, call, pin_page, start, submit_pin


def pending(client: FlaskClient) -> dict:
    op_id = start(client).json["id"]
    return call(client, "GET", f"/v1/operations/{op_id}?wait=5&state=starting").json


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [("", "ja", "暗証番号の入力"), ("", "en-US,en;q=0.9", "enter the PIN"),
     ("?lang=en", "ja", "enter the PIN"), ("?lang=ja", "en", "暗証番号の入力")],
)  # fmt: skip
def test_the_page_speaks_japanese_and_english(client, query, accept, expected) -> None:
    op = pending(client)
    path = op["pin_url"].removeprefix(BASE) + query
    page = client.get(path, base_url=BASE, headers={"Accept-Language": accept})
    assert page.status_code == 200
    assert expected in page.text
    assert IDP in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    call(client, "DELETE", f"/v1/operations/{op['id']}")


def test_the_last_try_is_warned_plainly(client: FlaskClient) -> None:
    for _ in range(2):
        op = pending(client)
        path, _, token = pin_page(client, op)
        submit_pin(client, path, token, "9999")
    op = pending(client)
    assert op["last_try"] is True
    _, page, _ = pin_page(client, op)
    assert "only your municipal office" in page.text
    call(client, "DELETE", f"/v1/operations/{op['id']}")


def test_cancel_on_the_page(client: FlaskClient) -> None:
    op = pending(client)
    path, _, token = pin_page(client, op)
    cancelled = client.post(path, base_url=BASE, headers={"Origin": BASE},
                            data={"token": token, "action": "cancel"})  # fmt: skip
    assert cancelled.status_code == 303
    assert call(client, "GET", f"/v1/operations/{op['id']}").json["error"] == "cancelled"


def test_with_pin_stdin_the_page_offers_no_form(connector) -> None:
    read_end, write_end = os.pipe()
    settings = BridgeSettings(frozenset({IDP}), port=8003, pin_stdin=True)
    broker = Broker(connector, stdin_pin_reader(read_end))
    client = create_app(settings, broker=broker).test_client()
    try:
        op = pending(client)
        assert op["status"] == "pin_required"
        assert "pin_url" not in op
        page = client.get(f"/pin/{op['id']}", base_url=BASE)
        assert "<form" not in page.text
        call(client, "DELETE", f"/v1/operations/{op['id']}")
    finally:
        os.close(write_end)
        os.close(read_end)


def test_an_unknown_operation_is_a_page_in_the_persons_language(client: FlaskClient) -> None:
    """An expired or unknown PIN window is explained to the person, not answered with JSON."""
    page = client.get("/pin/unknown", base_url=BASE, headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "This PIN window is no longer valid" in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    japanese = client.get("/pin/unknown?lang=ja", base_url=BASE)
    assert "この暗証番号・パスワードの入力画面は使えなくなりました" in japanese.text
    assert 'lang="ja"' in japanese.text


def test_a_pin_posted_to_an_unknown_operation_changes_nothing(client: FlaskClient) -> None:
    answer = client.post(
        "/pin/unknown", base_url=BASE, data={"pin": "1234"}, headers={"Origin": BASE}
    )
    assert answer.status_code == 404
    assert "1234" not in answer.text
