"""Approve, partially approve and deny on the consent screen, through the Flask test
client after a real card login: what the relying party gets, what is recorded (and when), and
that a tampered or forged form changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from idp.oidc.server import SERVER
from idp.oidc.userinfo import authenticate
from idp.services import services
from idp.storage.consents import Consent
from idp.storage.db import db
from tests.consent.conftest import PURPOSE, RETENTION_DAYS, open_consent
from tests.oidc.rp import query


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """What is recorded, and when, is checked on both databases (PostgreSQL in production)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idp.sqlite3"
    return request.getfixturevalue("postgres_url")


def consents(app) -> list[Consent]:
    with app.app_context():
        rows = list(db.session.execute(select(Consent).order_by(Consent.created_at)).scalars())
        db.session.expunge_all()
        return rows


def grant_of(app, access_token: str) -> dict:
    with app.test_request_context():
        shared = services(app)[SERVER].services
        headers = {"Authorization": "Bearer " + access_token}
        return authenticate(shared, headers, "GET", "http://127.0.0.1:8000/userinfo")


def token_for(rp, response) -> dict:
    assert response.status_code == 302, response.get_data(as_text=True)
    params = query(response.headers["Location"])
    assert "code" in params, params
    token = rp.token(params["code"])
    assert token.status_code == 200, token.get_data(as_text=True)
    return token.json


def test_approve_records_the_consent_and_the_service_gets_a_code(card_app, rp, consent_page):
    page = consent_page(state="s1")
    response = page.decide("approve")
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert query(response.headers["Location"])["state"] == "s1"
    [consent] = consents(card_app)
    assert consent.granted() == ["openid"]
    assert consent.purpose == PURPOSE
    assert consent.retention_days == RETENTION_DAYS
    assert consent.auth_method == "session"
    assert not consent.per_request
    assert consent.expires_at > consent.created_at
    token = token_for(rp, response)
    grant = grant_of(card_app, token["access_token"])
    assert grant["consent_id"] == consent.id
    assert grant["account_id"] == consent.account_id


def test_the_consent_row_is_committed_before_the_code_exists(card_app, consent_page, monkeypatch):
    """When the code is stored, another connection already sees the Consent row it names."""
    import idp.oidc.grants as grants

    seen: list[tuple[str, int]] = []
    save_code = grants.save_code

    def checking_save_code(store, code, record, ttl):
        with db.engine.connect() as other:
            query_ = text("SELECT count(*) FROM consent WHERE id = :id")
            seen.append((record.consent_id, other.execute(query_, {"id": record.consent_id})
                         .scalar_one()))  # fmt: skip
        return save_code(store, code, record, ttl)

    monkeypatch.setattr(grants, "save_code", checking_save_code)
    response = consent_page().decide("approve")
    assert response.status_code == 302
    [(consent_id, count)] = seen
    assert count == 1
    assert consent_id == consents(card_app)[0].id


def test_deny_returns_access_denied_and_records_nothing(card_app, consent_page):
    page = consent_page(state="s2")
    response = page.decide("deny")
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "s2"
    assert "code" not in params
    assert consents(card_app) == []
    again = page.http.get(page.path)  # the request is answered: its page is gone
    assert 'data-reason="consent_gone"' in again.get_data(as_text=True)


def test_deny_needs_no_items_but_does_need_csrf(card_app, consent_page):
    page = consent_page()
    refused = page.decide("deny", items=[], csrf=None)
    assert refused.status_code == 400
    assert 'data-reason="bad_request"' in refused.get_data(as_text=True)
    assert page.http.get(page.path).status_code == 200  # still pending: nothing changed
    response = page.decide("deny", items=[])
    assert query(response.headers["Location"])["error"] == "access_denied"


@pytest.mark.parametrize("csrf", [None, "forged-" + "x" * 40])
def test_approve_without_the_csrf_token_changes_nothing(card_app, consent_page, csrf):
    page = consent_page()
    refused = page.decide("approve", csrf=csrf)
    assert refused.status_code == 400
    assert 'data-reason="bad_request"' in refused.get_data(as_text=True)
    assert "code=" not in refused.headers.get("Location", "")
    assert consents(card_app) == []
    assert page.decide("approve").status_code == 302  # the real form still works


@pytest.mark.parametrize(
    "items",
    [
        [],  # the required identifier left out
        ["selfinfo:income"],  # the same, with an optional item
        ["openid", "selfinfo:tax_refund"],  # an item that was not requested
        ["openid", "claim:email"],
    ],
)
def test_a_tampered_form_is_refused_and_changes_nothing(card_app, consent_page, items):
    page = consent_page(scope="openid selfinfo:income")
    refused = page.decide("approve", items=items)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'data-reason="bad_request"' in html
    assert 'id="back-to-request"' in html
    assert consents(card_app) == []
    assert page.http.get(page.path).status_code == 200


def test_an_unknown_action_is_refused(card_app, consent_page):
    refused = consent_page().decide("approve-everything")
    assert refused.status_code == 400
    assert consents(card_app) == []


def test_the_back_to_service_button_of_a_refusal_denies(card_app, consent_page):
    page = consent_page(state="s3")
    page.decide("approve", items=[])  # refused: required item left out
    response = page.decide("deny")  # what the refusal page's "Back to …" posts
    params = query(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "s3"


def test_a_remembered_consent_skips_the_screen_for_the_identifier_only(card_app, rp, consent_page):
    page = consent_page()
    token_for(rp, page.decide("approve"))
    again = rp.authorize()  # same browser, its IdP session, the same request
    assert again.status_code == 302, again.get_data(as_text=True)
    token = token_for(rp, again)
    [consent] = consents(card_app)  # no new row: the remembered one answered
    assert grant_of(card_app, token["access_token"])["consent_id"] == consent.id


def test_prompt_consent_always_shows_the_screen(card_app, rp, consent_page):
    page = consent_page()
    token_for(rp, page.decide("approve"))
    again = rp.authorize(prompt="consent")
    second = open_consent(rp.http, again)
    assert second.path != page.path
    assert second.decide("approve").status_code == 302
    assert len(consents(card_app)) == 2


def test_a_remembered_consent_never_covers_self_information(card_app, rp, consent_page):
    page = consent_page()
    token_for(rp, page.decide("approve"))
    again = rp.authorize(scope="openid selfinfo:income")
    second = open_consent(rp.http, again)  # asked, not answered from memory
    assert second.optional() == ["selfinfo:income"]


def test_another_purpose_is_asked_again(card_app, rp, consent_page):
    page = consent_page()
    token_for(rp, page.decide("approve"))
    again = rp.authorize(purpose="住宅ローンの審査")
    assert open_consent(rp.http, again).decide("approve").status_code == 302
    assert [c.purpose for c in consents(card_app)] == [PURPOSE, "住宅ローンの審査"]


def test_unticking_self_information_approves_the_rest_without_a_card(card_app, rp, consent_page):
    """Partial approval: the optional item left out never reaches the token's scope."""
    page = consent_page(scope="openid selfinfo:income")
    response = page.decide("approve", items=["openid"])
    token = token_for(rp, response)
    assert "selfinfo:income" not in token.get("scope", "")
    grant = grant_of(card_app, token["access_token"])
    assert "selfinfo:income" not in grant["scope"].split()
    [consent] = consents(card_app)
    assert consent.granted() == ["openid"]
    assert json.loads(consent.items) == ["openid"]
