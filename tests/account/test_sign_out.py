"""Signing out from the account pages: this browser only, or every session of the account
(every browser, every service's tokens obtained in them); other people stay signed in."""

from __future__ import annotations

from idp.storage.db import db
from idp.storage.models import LogoutDelivery, TokenFamily
from tests.account.conftest import (
    csrf_of,
    in_another_browser,
    login_tokens,
    open_account,
    refresh,
    userinfo,
)
from tests.oidc.rp import query

ALICE, BOB = "acct-alice", "acct-bob"


def _signed_in(service) -> bool:
    """The browser's IdP session is still there: a prompt=none request gets a code."""
    location = service.rp.authorize(prompt="none").headers["Location"]
    return "code" in query(location)


def _families(app) -> dict[str, bool]:
    """sid → revoked, for every token family."""
    with app.app_context():
        rows = db.session.execute(db.select(TokenFamily)).scalars()
        return {row.sid: row.revoked_at is not None for row in rows}


def _deliveries(app) -> list[str | None]:
    with app.app_context():
        return [row.sid for row in db.session.execute(db.select(LogoutDelivery)).scalars()]


def test_sign_out_everywhere_ends_every_session_of_the_account(provider, make_service, wakes):
    laptop = make_service("Sample Bank")
    phone = in_another_browser(provider, laptop)
    bob = in_another_browser(provider, laptop)
    laptop_tokens = login_tokens(laptop, ALICE)
    phone_tokens = login_tokens(phone, ALICE)
    bob_tokens = login_tokens(bob, BOB)
    assert _signed_in(laptop)
    assert _signed_in(phone)

    csrf = csrf_of(open_account(laptop.http).get_data(as_text=True))
    response = laptop.http.post("/account/signout-everywhere", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/signed-out?everywhere=1"
    page = laptop.http.get(response.headers["Location"] + "&lang=en")
    assert "You are signed out everywhere" in page.get_data(as_text=True)

    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    for tokens, service in ((laptop_tokens, laptop), (phone_tokens, phone)):
        assert refresh(service, tokens["refresh_token"]).json["error"] == "invalid_grant"
        assert userinfo(service, tokens["access_token"]).status_code == 401
    assert _signed_in(bob)
    assert userinfo(bob, bob_tokens["access_token"]).status_code == 200
    assert refresh(bob, bob_tokens["refresh_token"]).status_code == 200
    assert len(_deliveries(provider)) == 2  # one logout token per ended session
    assert None not in _deliveries(provider)
    assert wakes


def test_sign_out_ends_this_browsers_session_only(provider, make_service):
    laptop = make_service("Sample Bank")
    phone = in_another_browser(provider, laptop)
    laptop_tokens = login_tokens(laptop, ALICE)
    phone_tokens = login_tokens(phone, ALICE)
    csrf = csrf_of(open_account(laptop.http).get_data(as_text=True))
    response = laptop.http.post("/account/signout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/signed-out"
    assert not _signed_in(laptop)
    assert refresh(laptop, laptop_tokens["refresh_token"]).status_code == 400
    assert _signed_in(phone)
    assert userinfo(phone, phone_tokens["access_token"]).status_code == 200


def test_sign_out_everywhere_without_csrf_is_refused_and_nothing_changes(provider, make_service):
    laptop = make_service("Sample Bank")
    phone = in_another_browser(provider, laptop)
    login_tokens(laptop, ALICE)
    login_tokens(phone, ALICE)
    open_account(laptop.http)
    for path in ("/account/signout-everywhere", "/account/signout"):
        response = laptop.http.post(path, data={"csrf_token": "not-the-token"})
        assert response.status_code == 400
        assert 'data-problem="bad_request"' in response.get_data(as_text=True)
    assert _signed_in(laptop)
    assert _signed_in(phone)
    assert not any(_families(provider).values())
    assert _deliveries(provider) == []


def test_signing_out_without_a_session_changes_nothing(provider, make_service):
    laptop = make_service("Sample Bank")
    login_tokens(laptop, ALICE)
    stranger = provider.test_client()
    assert stranger.post("/account/signout-everywhere").status_code == 303
    assert stranger.post("/account/signout").status_code == 303
    assert _signed_in(laptop)
    assert not any(_families(provider).values())


def test_the_signed_out_page_shows_nothing_of_the_account(provider, make_service):
    laptop = make_service("Sample Bank")
    login_tokens(laptop, ALICE)
    csrf = csrf_of(open_account(laptop.http).get_data(as_text=True))
    laptop.http.post("/account/signout-everywhere", data={"csrf_token": csrf})
    html = laptop.http.get("/account/signed-out?everywhere=1&lang=en").get_data(as_text=True)
    assert "Sample Bank" not in html
    assert ALICE not in html
    assert laptop.http.get("/account").status_code == 303  # the next visit logs in again
