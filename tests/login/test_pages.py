"""The login pages' languages and headers: Japanese by default, English one click away and
remembered, ``ui_locales`` honoured; a strict CSP that lets the page reach only the bridge."""

from __future__ import annotations

import re

from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from tests.login.conftest import logged_in

TITLE_JA = "マイナンバーカードでログイン"
TITLE_EN = "Log in with your My Number Card"


def test_japanese_is_the_default(login_page):
    page = login_page()
    assert '<html lang="ja">' in page.html
    assert TITLE_JA in page.html
    assert 'hreflang="en"' in page.html


def test_english_is_one_click_away_and_remembered(login_page):
    page = login_page()
    english = page.http.get(page.path + "?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert TITLE_EN in english.get_data(as_text=True)
    assert "idp_lang=en" in english.headers["Set-Cookie"]
    again = page.http.get(page.path)
    assert TITLE_EN in again.get_data(as_text=True)
    refused = page.http.get(page.path + "/refused/pin_locked")
    assert "Your card's PIN is locked" in refused.get_data(as_text=True)


def test_ui_locales_is_honoured_until_the_person_chooses(login_page):
    page = login_page(ui_locales="en-US ja")
    assert TITLE_EN in page.html
    chosen = page.http.get(page.path + "?lang=ja")
    assert TITLE_JA in chosen.get_data(as_text=True)


def test_unknown_languages_fall_back_to_japanese(login_page):
    page = login_page(ui_locales="fr de")
    assert TITLE_JA in page.html
    assert TITLE_JA in page.http.get(page.path + "?lang=xx").get_data(as_text=True)


def test_pages_carry_a_strict_csp_that_allows_only_the_bridge(login_page):
    page = login_page()
    response = page.http.get(page.path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "connect-src 'self' http://127.0.0.1:8003" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert " style=" not in html
    assert "http://127.0.0.1:8003" in html  # the bridge URL, from configuration


def test_the_script_and_styles_are_same_origin_files(login_page):
    page = login_page()
    for path in ("/login/static/card-login.js", "/web/static/pages.css"):
        assert path in page.html
        assert page.http.get(path).status_code == 200


def test_identity_verification_starts_with_the_card_login(rp):
    """The signing certificate is asked for on the consent screen, after the card login
    (tests/consent/test_card_step.py)."""
    response = rp.authorize(acr_values=ACR_SIGN_IDENTITY)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login/card/")


def test_without_trust_anchors_every_login_gets_a_clear_page(app):
    from idp.oidc.clients import register_client
    from tests.oidc.rp import RelyingParty

    with app.app_context():
        client, secret = register_client("RP", ["https://rp.example/cb"], "client_secret_basic")
        rp = RelyingParty(app.test_client(), client.client_id, "https://rp.example/cb", secret)
    response = rp.authorize()
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert 'data-reason="not_configured"' in html
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_ui_locales_of_a_pushed_request_is_honoured(rp):
    pushed = rp.push(ui_locales="en")
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    response = rp.http.get(
        "/authorize",
        query_string={"client_id": rp.client_id, "request_uri": pushed.json["request_uri"]},
    )
    assert response.status_code == 303
    page = rp.http.get(response.headers["Location"])
    assert TITLE_EN in page.get_data(as_text=True)


def test_the_page_carries_the_first_challenge_and_a_later_one_replaces_it(login_page, world):
    """One request fewer per login: the page's own challenge signs in without asking for one;
    a fresh one (a second attempt) replaces it, so the page's is then refused."""
    from tests.login.cards import bridge_result

    page = login_page()
    carried = re.search(r'data-challenge="([^"]+)"', page.html).group(1)
    ttl = int(re.search(r'data-challenge-ttl="(\d+)"', page.html).group(1))
    assert len(carried) == 43
    assert ttl == 120
    fresh = page.challenge()
    assert fresh != carried
    refused = page.post(bridge_result(world.good.certificate, world.good.key, carried))
    assert refused.status_code == 403
    assert 'data-reason="generic"' in refused.get_data(as_text=True)

    page = login_page(prompt="login")
    carried = re.search(r'data-challenge="([^"]+)"', page.html).group(1)
    answer = page.post(bridge_result(world.good.certificate, world.good.key, carried))
    assert logged_in(answer)
