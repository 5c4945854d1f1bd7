"""RP-initiated and back-channel logout: the session ends, grants end, RPs are told (retried)."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask, request
from joserfc import jwt
from joserfc.jwk import KeySet

import idp.oidc.backchannel as backchannel
from idp.oidc.server import SERVER
from idp.services import services
from tests.oidc.live import free_port, serving
from tests.oidc.rp import ISSUER, query

LOGOUT_DONE = "https://rp.example/logged-out"


class Receiver:
    """A relying party's back-channel logout endpoint that fails the first ``failures`` times."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.tokens, self.event = failures, [], threading.Event()
        self.app = Flask("receiver")
        self.app.add_url_rule("/bcl", "bcl", self.receive, methods=["POST"])

    def receive(self):
        if self.failures:
            self.failures -= 1
            return "busy", 503
        self.tokens.append(request.form["logout_token"])
        self.event.set()
        return "", 200


@pytest.fixture
def receiver(monkeypatch):
    """The RP's endpoint; the courier thread is held so the test drives delivery and time."""
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: None)
    port = free_port()
    rx = Receiver(failures=1)
    with serving(rx.app, port) as url:
        rx.url = url + "/bcl"
        yield rx


@pytest.fixture
def logout_rp(make_rp, receiver):
    return make_rp(backchannel_logout_uri=receiver.url, post_logout_redirect_uris=[LOGOUT_DONE])


def _refresh_status(rp, refresh_token):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers).status_code


def test_logout_with_hint_redirects_ends_session_and_grants_and_notifies(
    provider, logout_rp, receiver
):
    tokens = logout_rp.tokens()
    response = logout_rp.http.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT_DONE,
            "state": "bye",
        },
    )
    assert response.status_code == 302
    assert query(response.headers["Location"]) == {"state": "bye"}
    assert query(logout_rp.authorize(prompt="none").headers["Location"])["error"] == (
        "login_required"
    )
    assert _refresh_status(logout_rp, tokens["refresh_token"]) == 400
    shared, now = services(provider)[SERVER].services, int(time.time())
    with provider.app_context():
        assert backchannel.deliver_due(shared, now) == 1  # the RP answers 503
        assert receiver.tokens == []
        assert backchannel.deliver_due(shared, now + 1) == 0  # not due yet: backoff
        assert backchannel.deliver_due(shared, now + 3600) == 1
        assert backchannel.deliver_due(shared, now + 7200) == 0  # acknowledged: gone
    assert len(receiver.tokens) == 1
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    token = jwt.decode(receiver.tokens[0], keys)
    id_claims = jwt.decode(tokens["id_token"], keys).claims
    assert token.header["typ"] == "logout+jwt"
    claims = token.claims
    assert (claims["iss"], claims["aud"]) == (ISSUER, logout_rp.client_id)
    assert (claims["sub"], claims["sid"]) == (id_claims["sub"], id_claims["sid"])
    assert backchannel.EVENT in claims["events"]
    assert "nonce" not in claims


def test_unregistered_post_logout_uri_is_not_redirected_to(logout_rp):
    tokens = logout_rp.tokens()
    response = logout_rp.http.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert response.status_code == 200
    assert "Location" not in response.headers


def test_forged_id_token_hint_is_refused_and_session_survives(logout_rp):
    from joserfc.jwk import RSAKey

    tokens = logout_rp.tokens()
    forged = jwt.encode(
        {"alg": "RS256"}, {"iss": ISSUER, "aud": logout_rp.client_id}, RSAKey.generate_key(2048)
    )
    response = logout_rp.http.get("/logout", query_string={"id_token_hint": forged})
    assert response.status_code == 400
    assert logout_rp.authorize(prompt="none").status_code == 302
    assert "code=" in logout_rp.authorize(prompt="none").headers["Location"]
    assert tokens


def test_logout_without_hint_asks_for_confirmation_first(logout_rp):
    logout_rp.tokens()
    page = logout_rp.http.get("/logout")
    assert page.status_code == 200
    assert "code=" in logout_rp.authorize(prompt="none").headers["Location"]
    token = page.get_data(as_text=True).split('name="confirm" value="')[1].split('"')[0]
    assert logout_rp.http.post("/logout", data={"confirm": "wrong"}).status_code == 200
    assert "code=" in logout_rp.authorize(prompt="none").headers["Location"]
    page = logout_rp.http.get("/logout")
    token = page.get_data(as_text=True).split('name="confirm" value="')[1].split('"')[0]
    assert logout_rp.http.post("/logout", data={"confirm": token}).status_code == 200
    assert "login_required" in logout_rp.authorize(prompt="none").headers["Location"]


def test_delivery_gives_up_after_its_retries(provider, logout_rp, receiver):
    receiver.failures = 100
    tokens = logout_rp.tokens()
    logout_rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    shared, now = services(provider)[SERVER].services, int(time.time())
    with provider.app_context():
        for attempt in range(len(backchannel.RETRY_DELAYS)):
            assert backchannel.deliver_due(shared, now + 10_000 * (attempt + 1)) == 1
        assert backchannel.deliver_due(shared, now + 10**9) == 0
    assert receiver.failures == 100 - len(backchannel.RETRY_DELAYS)


def test_queued_delivery_survives_a_new_process(provider, logout_rp, receiver, tmp_path):
    """Another app on the same database (a restarted or second process) delivers it."""
    from tests.conftest import make_app

    tokens = logout_rp.tokens()
    logout_rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    other = make_app(services(provider).config, tmp_path / "other")
    shared = services(other)[SERVER].services
    with other.app_context():
        backchannel.deliver_due(shared, int(time.time()) + 10_000)
        backchannel.deliver_due(shared, int(time.time()) + 20_000)
    assert len(receiver.tokens) == 1


def test_courier_thread_delivers_right_after_logout(provider, make_rp):
    rx = Receiver(failures=0)
    port = free_port()
    with serving(rx.app, port) as url:
        rp = make_rp(backchannel_logout_uri=url + "/bcl")
        tokens = rp.tokens()
        rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
        assert rx.event.wait(10), "the courier did not deliver"
    assert len(rx.tokens) == 1


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_the_logout_token_is_signed_with_the_clients_id_token_algorithm(
    provider, make_rp, receiver, alg
):
    """The relying party validates it like its ID tokens (Back-Channel Logout §2.6)."""
    receiver.failures = 0
    rp = make_rp(
        backchannel_logout_uri=receiver.url,
        post_logout_redirect_uris=[LOGOUT_DONE],
        id_token_signed_response_alg=alg,
    )
    tokens = rp.tokens()
    rp.http.get(
        "/logout",
        query_string={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT_DONE},
    )
    with provider.app_context():
        shared = services(provider)[SERVER].services
        assert backchannel.deliver_due(shared, int(time.time())) == 1
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    token = jwt.decode(receiver.tokens[0], keys, algorithms=[alg])
    assert token.header["alg"] == alg
    assert jwt.decode(tokens["id_token"], keys, algorithms=[alg]).header["alg"] == alg


def test_the_logout_pages_are_citizen_pages_in_both_languages(logout_rp):
    """The confirmation and the logged-out page: the shared layout, Japanese by default,
    English by ``?lang=`` or the browser's language."""
    logout_rp.tokens()
    japanese = logout_rp.http.get("/logout").get_data(as_text=True)
    assert '<html lang="ja">' in japanese
    assert "マイナンバーカードログインからログアウトしますか？" in japanese
    assert '<footer id="operator">' in japanese
    english = logout_rp.http.get("/logout", headers={"Accept-Language": "en"})
    html = english.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Log out of the My Number Card login?" in html
    token = html.split('name="confirm" value="')[1].split('"')[0]
    ended = logout_rp.http.post("/logout?lang=en", data={"confirm": token})
    assert ended.status_code == 200
    assert '<h1 id="logged-out">You are logged out</h1>' in ended.get_data(as_text=True)
    assert ended.headers["X-Frame-Options"] == "DENY"


def test_a_bad_id_token_hint_gets_a_readable_page_not_json(logout_rp):
    logout_rp.tokens()
    response = logout_rp.http.get("/logout", query_string={"id_token_hint": "not-a-token"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'data-reason="logout_refused"' in html
    assert "このログアウトのリンクは使えません" in html
    assert "error_description" not in html
    english = logout_rp.http.get(
        "/logout", query_string={"id_token_hint": "not-a-token", "lang": "en"}
    )
    assert "This logout link cannot be used" in english.get_data(as_text=True)
    assert "code=" in logout_rp.authorize(prompt="none").headers["Location"]  # still logged in
