"""An operation whose page is gone (reloaded or closed mid-operation): the page says so with
``DELETE …?abandoned=1`` and the PIN window then takes no PIN, a signature made meanwhile is
dropped, and the window says "done" only once the page that asked has received the result."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from client_bridge import pin_page
from tests.bridge.conftest import AUTH_PIN
from tests.bridge.test_api import BASE, call, start, submit_pin


@pytest.fixture(autouse=True)
def short_collect_wait(monkeypatch) -> None:
    monkeypatch.setattr(pin_page, "COLLECT_WAIT", 0.5)


def waiting(client: FlaskClient) -> tuple[dict, str, str]:
    """An operation waiting for its PIN, its window's path and form token."""
    op_id = start(client).json["id"]
    op = call(client, "GET", f"/v1/operations/{op_id}?wait=5&state=starting").json
    assert op["status"] == "pin_required"
    path = op["pin_url"].removeprefix(BASE)
    page = client.get(path, base_url=BASE, headers={"Accept-Language": "en"})
    return op, path, re.search(r'name="token" value="([^"]+)"', page.text).group(1)


def tries_left(client: FlaskClient) -> int:
    op, _, _ = waiting(client)
    call(client, "DELETE", f"/v1/operations/{op['id']}")
    return op["tries_left"]


def test_an_abandoned_operation_takes_no_pin_and_says_why(client: FlaskClient) -> None:
    op, path, token = waiting(client)
    gone = call(client, "DELETE", f"/v1/operations/{op['id']}?abandoned=1").json
    assert (gone["status"], gone["error"]) == ("failed", "abandoned")
    typed = submit_pin(client, path, token, "9999")  # the window, still open, is used anyway
    assert typed.status_code == 303
    page = client.get(typed.headers["Location"], base_url=BASE)
    assert "要求元のページが再読み込みされたか閉じられたため" in page.text
    assert "<form" not in page.text
    assert "結果をサイトに渡しました" not in page.text
    assert tries_left(client) == 3  # the PIN never reached the card


def test_a_signature_nobody_collected_is_not_reported_done_and_can_be_dropped(client) -> None:
    op, path, token = waiting(client)
    typed = submit_pin(client, path, token, AUTH_PIN)
    page = client.get(typed.headers["Location"], base_url=BASE)
    assert "要求元のページが結果を受け取っていません" in page.text
    assert "結果をサイトに渡しました" not in page.text
    english = client.get(typed.headers["Location"].replace("lang=ja", "lang=en"), base_url=BASE)
    assert "has not received the result" in english.text
    assert "Done" not in english.text
    gone = call(client, "DELETE", f"/v1/operations/{op['id']}?abandoned=1").json
    assert (gone["status"], gone["error"]) == ("failed", "abandoned")
    assert "result" not in gone
    later = call(client, "GET", f"/v1/operations/{op['id']}").json
    assert later["status"] == "failed"
    assert "result" not in later


def test_the_window_says_done_once_the_page_has_the_result(client: FlaskClient) -> None:
    op, path, token = waiting(client)
    typed = submit_pin(client, path, token, AUTH_PIN)
    done = call(client, "GET", f"/v1/operations/{op['id']}?wait=10&state=pin_required").json
    assert done["status"] == "done"
    page = client.get(typed.headers["Location"], base_url=BASE)
    assert "結果をサイトに渡しました" in page.text
    kept = call(client, "DELETE", f"/v1/operations/{op['id']}?abandoned=1").json
    assert kept["status"] == "done"  # collected: it is the page's to post
    assert "result" in kept


def test_a_plain_cancel_still_refuses_a_finished_operation(client: FlaskClient) -> None:
    op, path, token = waiting(client)
    submit_pin(client, path, token, AUTH_PIN)
    assert call(client, "DELETE", f"/v1/operations/{op['id']}").status_code == 409
