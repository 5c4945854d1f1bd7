"""The consent page itself: who asks, why, for how long, each item in plain
words, required ones marked, two equal buttons, both languages, the strict headers."""

from __future__ import annotations

import datetime as dt
import re

from idp.web.formats import iso, when
from tests.consent.conftest import PURPOSE, open_consent


def test_the_page_names_the_service_its_purpose_retention_and_each_item(consent_page):
    page = consent_page(scope="openid selfinfo:income selfinfo:household")
    html = page.html
    assert '<html lang="ja">' in html
    assert "Sample Bank に情報を提供しますか？" in html
    assert f'<dd id="purpose">{PURPOSE}</dd>' in html
    assert '<dd id="retention">30日</dd>' in html
    assert "住民税の課税・所得情報" in html
    assert "世帯情報" in html
    assert page.required() == ["openid"]
    assert page.optional() == ["selfinfo:income", "selfinfo:household"]
    assert html.count(" checked ") == 2  # optional items are ticked by default
    assert "必須" in html
    assert "提供するたびにマイナンバーカードが必要です" in html


def test_approve_and_deny_are_two_equal_buttons_of_one_form(consent_page):
    html = consent_page().html
    approve = '<button type="submit" name="action" value="approve" id="approve-button">'
    deny = '<button type="submit" name="action" value="deny" id="deny-button">'
    assert approve in html
    assert deny in html  # same element, same class (none): equally easy


def test_a_request_purpose_wins_and_a_missing_one_is_said(consent_page, rp, card_app):
    page = consent_page(purpose="住宅ローンの審査")
    assert '<dd id="purpose">住宅ローンの審査</dd>' in page.html


def test_no_purpose_and_no_retention_are_stated_as_such(card_app, rp, logged_in):
    """A client registered without purpose or retention."""
    from idp.oidc.clients import register_client

    with card_app.app_context():
        client, secret = register_client("Plain Shop", [rp.redirect_uri], "client_secret_basic")
        rp.client_id, rp.secret = client.client_id, secret
    http, response = logged_in()
    html = open_consent(http, response).html
    assert '<dd id="purpose">利用目的の記載はありません</dd>' in html
    assert '<dd id="retention">記載なし</dd>' in html


def test_english_by_ui_locales_and_by_the_switch(consent_page):
    page = consent_page(ui_locales="en", scope="openid selfinfo:pension")
    assert '<html lang="en">' in page.html
    assert "Share your information with Sample Bank?" in page.html
    assert "Your pension records" in page.html
    assert '<dd id="retention">30 days</dd>' in page.html
    japanese = page.http.get(page.path + "?lang=ja").get_data(as_text=True)
    assert '<html lang="ja">' in japanese
    assert "年金関係情報" in japanese


def test_the_page_has_the_strict_headers_and_no_third_party_asset(consent_page):
    page = consent_page()
    response = page.http.get(page.path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert "style=" not in html
    assert "https://" not in html.replace("https://rp.example", "")
    for asset in ("/consent/static/consent.js", "/consent/static/consent.css"):
        served = page.http.get(asset)
        assert served.status_code == 200, asset


def test_an_unknown_or_foreign_transaction_gets_the_start_again_page(consent_page, card_app):
    page = consent_page()
    gone = page.http.get("/consent/" + "A" * 43)
    assert gone.status_code == 400
    assert 'data-reason="consent_gone"' in gone.get_data(as_text=True)
    assert "最初からやり直してください" in gone.get_data(as_text=True)
    stranger = card_app.test_client().get(page.path)  # another browser, same link
    assert stranger.status_code == 400
    assert 'data-reason="consent_gone"' in stranger.get_data(as_text=True)
    assert "Sample Bank" not in stranger.get_data(as_text=True)  # nothing about the request


def test_identity_verification_is_announced_and_uses_the_signing_key(consent_page):
    from idp.oidc.authenticator import ACR_SIGN_IDENTITY

    page = consent_page(acr_values=ACR_SIGN_IDENTITY)
    assert 'data-identity="1"' in page.html
    note = re.search(r'<p class="card-note" id="identity-note">([^<]+)</p>', page.html).group(1)
    assert "署名用電子証明書による本人確認" in note
    assert "性別" not in note  # no verified fact is listed, so none is named or sent


def test_the_identity_notice_names_exactly_the_verified_facts_listed(consent_page):
    """The notice named gender though it was neither listed nor sent: now it names the facts
    that are listed (and released only if approved), in both languages."""
    from tests.verified.helpers import claims_param, verified

    claims = claims_param(id_token=verified({"given_name": None, "birthdate": None}))
    page = consent_page(claims=claims)
    listed = {i for i in page.everything() if i.startswith("verified:")}
    assert listed == {"verified:name", "verified:birthdate"}
    note = re.search(r'<p class="card-note" id="identity-note">([^<]+)</p>', page.html).group(1)
    assert "署名用電子証明書から氏名・生年月日を読み取り" in note
    assert "性別" not in note
    assert "住所" not in note
    english = page.http.get(page.path + "?lang=en").get_data(as_text=True)
    assert "approving reads your full name, date of birth from your card" in english


def test_a_refusal_is_shown_again_in_the_other_language(consent_page):
    page = consent_page(scope="openid selfinfo:income")
    refused = page.http.get(page.path + "/refused/pin_locked/sign?lang=en")
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert 'data-reason="pin_locked"' in html
    assert "The signing password was entered wrongly too many times" in html
    assert 'id="back-to-request"' in html
    assert 'id="back-to-service"' in html
    login_wording = page.http.get(page.path + "/refused/pin_locked/auth")
    assert "The PIN of the user-authentication certificate" in login_wording.get_data(as_text=True)
    unknown = page.http.get(page.path + "/refused/whatever").get_data(as_text=True)
    assert 'data-reason="generic"' in unknown


def test_a_reload_of_the_card_answers_address_shows_the_request_again(consent_page):
    page = consent_page()
    response = page.http.get(page.path + "/approve")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(page.path)


def test_the_consent_lasts_until_a_japan_date_and_time(consent_page, card_app):
    """The expiry of the consent in Japan time with the time of day, as every page writes it
    (not the UTC date, which is a day early for nine hours of every day)."""
    page = consent_page()
    found = re.search(r'<dd id="expires"><time datetime="([^"]+)">([^<]+)</time></dd>', page.html)
    assert found is not None, page.html
    machine, shown = found.groups()
    assert machine.endswith("+09:00")
    moment = dt.datetime.fromisoformat(machine)
    with card_app.test_request_context("/?lang=ja"):
        assert shown == when(moment)
        assert machine == iso(moment)
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", shown)


def test_the_name_and_purpose_are_shown_in_the_pages_language(card_app, rp, logged_in):
    """A client registered with ``client_name#ja``/``#en`` and ``purpose#ja``: each page
    language shows its own, the untagged value where none was registered for it."""
    from idp.oidc.clients import register_client

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank",
            [rp.redirect_uri],
            "client_secret_basic",
            purpose="To check your income for a mortgage",
            localized={"client_name#ja": "サンプル銀行", "purpose#ja": "住宅ローン審査のため"},
        )
        rp.client_id, rp.secret = client.client_id, secret
    http, response = logged_in()
    page = open_consent(http, response)
    assert '<dd id="service-name">サンプル銀行</dd>' in page.html
    assert '<dd id="purpose">住宅ローン審査のため</dd>' in page.html
    assert "サンプル銀行 に情報を提供しますか？" in page.html
    english = page.http.get(page.path + "?lang=en").get_data(as_text=True)
    assert '<dd id="service-name">Sample Bank</dd>' in english
    assert '<dd id="purpose">To check your income for a mortgage</dd>' in english
    assert "サンプル銀行" not in english


def test_a_request_purpose_wins_over_the_registered_one_in_any_language(card_app, rp, logged_in):
    from idp.oidc.clients import register_client

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank",
            [rp.redirect_uri],
            "client_secret_basic",
            purpose="To check your income for a mortgage",
            localized={"purpose#ja": "住宅ローン審査のため"},
        )
        rp.client_id, rp.secret = client.client_id, secret
    http, response = logged_in(purpose="口座開設のため")
    page = open_consent(http, response)
    assert '<dd id="purpose">口座開設のため</dd>' in page.html


def test_an_age_request_shows_the_age_line_and_not_the_birth_date(consent_page):
    """``:age_over_18`` (a transformed claim): the line says the birth date is not given; the
    notice says it is read from the signing certificate; no birth-date item is listed."""
    import json

    from tests.verified.helpers import verified

    claims = {
        "transformed_claims": {
            "age_over_18": {"claim": "birthdate", "fn": ["years_ago", ["gte", 18]]}
        },
        "userinfo": {"verified_claims": verified({":age_over_18": None})},
    }
    page = consent_page(claims=json.dumps(claims))
    listed = {i for i in page.everything() if i.startswith("verified:")}
    assert listed == {"verified:age_over_18"}
    assert "18歳以上であること（生年月日は提供されません）" in page.html
    note = re.search(r'<p class="card-note" id="identity-note">([^<]+)</p>', page.html).group(1)
    assert "生年月日" in note
    english = page.http.get(page.path + "?lang=en").get_data(as_text=True)
    assert "That you are 18 or over (your date of birth is not given)" in english
