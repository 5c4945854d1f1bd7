"""The account pages' world: a testing IdP with the test authenticator and the test consent
screen (it approves every item), on SQLite and on PostgreSQL; relying parties visiting it with
their own browsers (Flask test clients); and rows written directly where a test needs history.

The back-channel courier is held (``wakes`` counts its wake-ups) so that a queued logout stays
in the database for the test to see, and no thread posts to the example URLs.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from dataclasses import dataclass

import pytest

import idp.oidc.backchannel as backchannel
from idp.oidc.server import SERVER
from idp.services import services
from tests.login.cards import compile_catalogues
from tests.oidc.rp import RelyingParty

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BACKCHANNEL = "http://127.0.0.1:9/backchannel-logout"
"""Never requested: the courier is not woken in these suites (``wakes``)."""


@pytest.fixture(scope="session", autouse=True)
def catalogues() -> None:
    compile_catalogues()


@pytest.fixture
def wakes(monkeypatch) -> list[int]:
    woken: list[int] = []
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: woken.append(1))
    return woken


@pytest.fixture
def provider(database_url, tmp_path, wakes):
    """A testing IdP that logs in anyone without a card and approves every consent."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(database_url)
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


@dataclass
class Service:
    """A relying party: its registration and the browser of the person using it."""

    rp: RelyingParty
    name: str

    @property
    def http(self):
        return self.rp.http


@pytest.fixture
def make_service(provider):
    """``make_service(name, http=None, backchannel=True, scope="")``: register a client (with
    ``scope``, the scopes it may ask for, set after registration)."""
    from idp.oidc.clients import register_client
    from idp.storage.db import db

    def make(
        name: str = "Sample Bank", http=None, backchannel: bool = True, scope: str = ""
    ) -> Service:
        host = secrets.token_hex(4)
        redirect = f"https://{host}.rp.example/cb"
        with provider.app_context():
            client, secret = register_client(
                name,
                [redirect],
                "client_secret_basic",
                backchannel_logout_uri=BACKCHANNEL if backchannel else None,
            )
            if scope:  # the client's own list, as an operator sets it
                client.set_client_metadata({**client.client_metadata, "scope": scope})
                db.session.commit()
            client_id = client.client_id
        browser = http or provider.test_client()
        return Service(RelyingParty(browser, client_id, redirect, secret=secret), name)

    return make


def in_another_browser(app, service: Service) -> Service:
    """The same service, used by someone in another browser."""
    rp = dataclasses.replace(service.rp, http=app.test_client())
    return Service(rp, service.name)


def login_tokens(service: Service, account: str, **params) -> dict:
    """The person ``account`` logs in at the service (test authenticator) and it gets tokens."""
    return service.rp.tokens(login_hint=account, **params)


def refresh(service: Service, refresh_token: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    service.rp.auth(form, headers)
    return service.http.post("/token", data=form, headers=headers)


def userinfo(service: Service, access_token: str):
    return service.http.get("/userinfo", headers={"Authorization": "Bearer " + access_token})


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def open_account(http, lang: str = "en"):
    """GET /account in this browser (which must have an IdP session); asserts the page."""
    response = http.get("/account", query_string={"lang": lang})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def make_account(app, account_id: str | None = None) -> str:
    from idp.storage.accounts import Account
    from idp.storage.db import db

    account_id = account_id or "acct-" + secrets.token_hex(8)
    with app.app_context():
        if db.session.get(Account, account_id) is None:
            db.session.add(Account(id=account_id))
            db.session.commit()
    return account_id


def add_consent(app, account_id: str, client_id: str = "client-x", **fields) -> str:
    """A Consent row written directly (for pages that only read)."""
    import json

    from idp.storage.consents import Consent
    from idp.storage.db import db

    now = int(time.time())
    values = {
        "id": secrets.token_urlsafe(32),
        "account_id": account_id,
        "client_id": client_id,
        "client_name": "Direct Service",
        "items": json.dumps(["claim:name", "openid"]),
        "purpose": "Opening an account",
        "retention_days": 30,
        "per_request": False,
        "auth_method": "session",
        "content_digest": "0" * 64,
        "created_at": now - 60,
        "expires_at": now + 3600,
        **fields,
    }
    with app.app_context():
        db.session.add(Consent(**values))
        db.session.commit()
    return values["id"]


def add_record(app, account_id: str, at: int, **fields) -> None:
    from idp.storage.consents import record_access
    from idp.storage.db import db

    values = {
        "client_id": "client-x",
        "client_name": "Direct Service",
        "kind": "selfinfo",
        "item": "selfinfo:income",
        "consent_id": None,
        **fields,
    }
    with app.app_context():
        record_access(account_id, now=at, **values)
        db.session.commit()


def sign_in(app, http, account_id: str) -> str:
    """Give this browser an IdP session of ``account_id`` as a card login would; its sid."""
    from flask import session

    from idp.oidc.authenticator import ACR_CARD_AUTH, LoginResult
    from idp.oidc.sessions import start_session

    login = LoginResult(account_id=account_id, acr=ACR_CARD_AUTH, auth_time=int(time.time()))
    store = services(app)[SERVER].services.store()
    with app.test_request_context():
        sid = start_session(store, login, 600)
        cookie = dict(session)
    with http.session_transaction() as browser_session:
        browser_session.clear()
        browser_session.update(cookie)
    return sid
