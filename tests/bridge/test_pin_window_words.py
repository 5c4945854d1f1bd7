"""The PIN window's words: the heading names what is asked and what for, the button says what
pressing it does (log in, or sign), the card's key is named in words, and the signing
certificate's secret is its password (署名用電子証明書のパスワード), never 暗証番号, which is the
4-digit one of the user-authentication certificate (利用者証明用電子証明書の暗証番号)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.bridge.test_api import BASE, CHALLENGE, IDP, call, submit_pin


def window(client: FlaskClient, path: str, body: dict, language: str) -> tuple[dict, str]:
    """Starts an operation and opens its window in ``language``; returns the operation and
    the page's visible text (markup stripped)."""
    op_id = call(client, "POST", path, json=body).json["id"]
    op = call(client, "GET", f"/v1/operations/{op_id}?wait=5&state=starting").json
    assert op["status"] == "pin_required"
    page = client.get(op["pin_url"].removeprefix(BASE) + f"?lang={language}", base_url=BASE)
    assert page.status_code == 200
    return op, page.text


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))


LOGIN = {"challenge": CHALLENGE, "service": "Sample Bank"}


@pytest.mark.parametrize(
    ("language", "heading", "button", "key"),
    [("ja", "ログイン: 利用者証明用電子証明書の暗証番号の入力", "ログインする",
      "利用者証明用電子証明書 (ログイン用"),
     ("en", "Log in: enter the PIN of your user-authentication certificate", "Log in",
      "User-authentication certificate (for logging in")],
)  # fmt: skip
def test_the_login_window_says_log_in(client: FlaskClient, language, heading, button, key):
    op, html = window(client, "/v1/authenticate", LOGIN, language)
    assert f"<h1>{heading}</h1>" in html
    assert re.search(rf'<button type="submit" name="action" value="sign">{button}</button>', html)
    assert "署名する" not in html
    assert ">Sign<" not in html
    assert key in html
    assert f'<dd class="origin">{IDP}</dd>' in html
    assert "<header>" in html
    assert "#0b3d91" in html
    call(client, "DELETE", f"/v1/operations/{op['id']}")


def test_the_signing_window_calls_the_password_a_password(client: FlaskClient) -> None:
    """An identity verification with the signing key alone: no 暗証番号 anywhere on the page."""
    op, html = window(client, "/v1/sign", LOGIN, "ja")
    text = visible(html)
    assert "暗証番号" not in text
    assert "署名用電子証明書のパスワード" in text
    assert "本人確認に同意する" in html
    call(client, "DELETE", f"/v1/operations/{op['id']}")
    op, html = window(client, "/v1/sign", LOGIN, "en")
    assert "PIN" not in visible(html)
    assert "password of your signing certificate" in html


def test_a_wrong_signing_password_is_called_a_password(client: FlaskClient) -> None:
    op, html = window(client, "/v1/sign", LOGIN, "ja")
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    path = op["pin_url"].removeprefix(BASE)
    assert submit_pin(client, path, token, "WRONG1").status_code == 303
    done = call(client, "GET", f"/v1/operations/{op['id']}?wait=10&state=pin_required").json
    assert done["error"] == "wrong_pin"
    assert "pin" not in done  # the API names the key only in a two-key operation
    assert done["message"]["ja"].startswith("署名用電子証明書のパスワードが違います")
    assert "暗証番号" not in done["message"]["ja"]
    assert done["message"]["en"].startswith("Wrong signing password")
    page = client.get(path + "?lang=ja", base_url=BASE)
    assert "署名用電子証明書のパスワードが違います" in page.text
    assert "暗証番号" not in visible(page.text)


def test_a_wrong_login_pin_names_the_authentication_certificate(client: FlaskClient) -> None:
    op, html = window(client, "/v1/authenticate", LOGIN, "ja")
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    submit_pin(client, op["pin_url"].removeprefix(BASE), token, "9999")
    done = call(client, "GET", f"/v1/operations/{op['id']}?wait=10&state=pin_required").json
    assert done["message"]["ja"].startswith("利用者証明用電子証明書の暗証番号が違います")


@pytest.mark.parametrize(
    ("lang", "query", "accept", "expected"),
    [("en", "", "ja", "en"), ("ja", "", "en", "ja"), ("en", "?lang=ja", "en", "ja"),
     (None, "", "en", "en")],
)  # fmt: skip
def test_the_window_speaks_the_language_the_page_chose(client, lang, query, accept, expected):
    """The page's ``lang`` beats the browser's Accept-Language; the window's own switch beats
    both; without ``lang`` the browser's language is followed."""
    body = LOGIN if lang is None else {**LOGIN, "lang": lang}
    op_id = call(client, "POST", "/v1/authenticate", json=body).json["id"]
    op = call(client, "GET", f"/v1/operations/{op_id}?wait=5&state=starting").json
    page = client.get(op["pin_url"].removeprefix(BASE) + query, base_url=BASE,
                      headers={"Accept-Language": accept})  # fmt: skip
    assert f'<html lang="{expected}">' in page.text
    assert page.headers["Content-Language"] == expected
    call(client, "DELETE", f"/v1/operations/{op_id}")


@pytest.mark.parametrize("lang", ["fr", "", 1, ["en"], None])
def test_a_language_the_window_does_not_speak_is_refused_and_starts_nothing(client, lang):
    refused = call(client, "POST", "/v1/authenticate", json={**LOGIN, "lang": lang})
    if lang is None:  # JSON null: as if absent
        assert refused.status_code == 202
        call(client, "DELETE", f"/v1/operations/{refused.json['id']}")
        return
    assert refused.status_code == 400
    assert (refused.json["error"], refused.json["field"]) == ("bad_request", "lang")
    assert call(client, "POST", "/v1/authenticate", json=LOGIN).status_code == 202


def test_the_no_longer_valid_window_has_the_same_look(client: FlaskClient) -> None:
    page = client.get("/pin/unknown?lang=en", base_url=BASE)
    assert page.status_code == 404
    assert '<p class="brand">My Number Card bridge</p>' in page.text
    assert "#0b3d91" in page.text
    assert "No PIN was sent." in page.text
