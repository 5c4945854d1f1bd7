"""The account pages in Debian's Chromium.

The story: a relying party sends the browser to the IdP; the citizen logs in with the sandbox
card through the real ``jpki-bridge run`` and approves on the consent screen with the card; the
service reads the citizen's income through the self-information API. Later the citizen opens
the account pages, logs in with the card again, sees the history, ends the service's access
with the keyboard alone; the service's next read is refused (401), its refresh token is dead and
its back-channel logout arrives (``sub``, no ``sid``). Finally the citizen signs out everywhere:
both IdP sessions end and the account pages ask for the card again.

Every page is also checked in Japanese and English with axe-core, by keyboard and at 200% zoom,
on an IdP whose test authenticator stands in for the card (those checks are about the pages, not
the login; the story above uses the card). Screenshots of every state are in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from idp.oidc.server import SERVER
from idp.services import services
from sandbox.server import free_port
from tests.bridge.conftest import AUTH_PIN
from tests.cardless import DEFAULT_ACCOUNT
from tests.conftest import drop_schema, idp_test_config, make_app
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, focused, snap, zoom
from tests.e2e.test_card_login import Idp, idp_with_bridge, log_in_with_pin  # noqa: F401
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving
from tests.oidc.rp import query

NEW_YEAR = 1_767_225_600
"""2026-01-01 00:00 UTC."""


def check_page(page: Page, label: str) -> None:
    """axe-core, Tab to every control with a visible focus, reflow at 200%; screenshots."""
    snap(page, label)
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    snap(page, label + "-zoom-200")
    zoom(page, 100)


# --- every page, both languages (test authenticator) ---------------------------------------------


def _seed(app) -> dict[str, str]:
    """Two services' consents and 60 history lines for the test authenticator's account."""
    from idp.storage.accounts import Account
    from idp.storage.consents import Consent, record_access
    from idp.storage.db import db

    now = int(time.time())
    ids = {"bank": secrets.token_urlsafe(32), "city": secrets.token_urlsafe(32)}
    with app.app_context():
        db.session.add(Account(id=DEFAULT_ACCOUNT))
        db.session.add_all(
            [
                Consent(
                    id=ids["bank"],
                    account_id=DEFAULT_ACCOUNT,
                    client_id="bank",
                    client_name="Sample Bank",
                    items=json.dumps(["openid", "selfinfo:income"]),
                    purpose="Checking your income for a housing loan",
                    retention_days=365,
                    per_request=True,
                    auth_method="card-step-up",
                    content_digest="0" * 64,
                    created_at=NEW_YEAR,
                    expires_at=now + 3600,
                ),
                Consent(
                    id=ids["city"],
                    account_id=DEFAULT_ACCOUNT,
                    client_id="city",
                    client_name="Kiyose City Library",
                    items=json.dumps(["claim:address", "claim:name", "openid"]),
                    purpose="Library card registration",
                    retention_days=None,
                    per_request=False,
                    auth_method="session",
                    content_digest="0" * 64,
                    created_at=NEW_YEAR + 60,
                    expires_at=now + 86400,
                ),
            ]
        )
        for n in range(60):
            bank = n % 2 == 0
            record_access(
                DEFAULT_ACCOUNT,
                "bank" if bank else "city",
                "Sample Bank" if bank else "Kiyose City Library",
                "selfinfo" if bank else "token",
                "selfinfo:income" if bank else "openid claim:name claim:address",
                ids["bank"] if bank else ids["city"],
                now=NEW_YEAR + 3600 * n,
            )
        db.session.commit()
    return ids


@contextmanager
def cardless_idp(tmp: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A served testing IdP whose logins need no card; its URL and the seeded consent ids."""
    compile_catalogues()
    port = free_port()
    config = idp_test_config(
        f"sqlite:///{tmp}/idp.sqlite3",
        issuer=f"http://127.0.0.1:{port}",
    )
    app = make_app(config, tmp / "instance", cardless_login=True)
    ids = _seed(app)
    try:
        with serving(app, port) as url:
            yield url, ids
    finally:
        drop_schema(app)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_account_page_passes_axe_by_keyboard_and_at_200_percent(
    page: Page, tmp_path: Path, language: str
):
    with cardless_idp(tmp_path) as (url, ids):
        page.goto(f"{url}/?lang={language}")  # the IdP's home page, then its link
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#home-heading")).to_be_visible()
        expect(page.locator("footer #home-link")).to_have_attribute("href", "/")
        check_page(page, f"home-{language}")
        page.locator("#account-link").click()
        expect(page).to_have_url(re.compile(r"/account$"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator(f"#consent-{ids['bank']}")).to_be_visible()
        expect(page.locator("tr[data-record]")).to_have_count(50)
        check_page(page, f"overview-{language}")

        page.locator("#older").click()
        expect(page.locator("tr[data-record]")).to_have_count(10)
        check_page(page, f"history-page-2-{language}")

        page.goto(f"{url}/account/consents/{ids['city']}/revoke")
        expect(page.locator("#confirm-revoke")).to_be_visible()
        check_page(page, f"confirm-revoke-{language}")

        page.locator("#confirm-revoke").click()
        expect(page.locator("#revoked")).to_have_attribute("data-consent", ids["city"])
        check_page(page, f"revoked-{language}")

        page.goto(f"{url}/account/consents/{'A' * 43}/revoke")
        expect(page.locator("#problem")).to_have_attribute("data-problem", "not_found")
        check_page(page, f"not-found-{language}")

        page.goto(f"{url}/account/consents/{ids['bank']}/revoke")
        page.locator("input[name=csrf_token]").evaluate("e => e.value = 'forged'")
        page.locator("#confirm-revoke").click()
        expect(page.locator("#problem")).to_have_attribute("data-problem", "bad_request")
        check_page(page, f"bad-request-{language}")

        page.goto(f"{url}/account")
        page.locator("#sign-out").click()
        expect(page.locator("#signed-out")).to_be_visible()
        check_page(page, f"signed-out-{language}")

        page.goto(f"{url}/account")  # the test authenticator logs in again at once
        page.locator("#sign-out-everywhere").click()
        expect(page.locator("#signed-out")).to_have_attribute("data-everywhere", "1")
        check_page(page, f"signed-out-everywhere-{language}")


# --- the story: card login, consent, a read, revoke, the next read refused --------------------


class _LogoutReceiver(BaseHTTPRequestHandler):
    """The relying party's back-channel logout endpoint: keeps each logout token it gets."""

    tokens: list[str]
    arrived: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.tokens.append(parse_qs(body)["logout_token"][0])
        self.arrived.set()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def logout_receiver() -> Iterator[tuple[str, list[str], threading.Event]]:
    handler = type("Receiver", (_LogoutReceiver,), {"tokens": [], "arrived": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bcl", handler.tokens, handler.arrived
    finally:
        server.shutdown()
        server.server_close()


def _let_the_bank_read_income(app, client_id: str, backchannel_uri: str) -> None:
    """The bank may ask for the income scope and registered where to receive logouts."""
    from idp.oidc.clients import find_client
    from idp.storage.db import db

    with app.app_context():
        client = find_client(client_id)
        client.set_client_metadata(
            {
                **client.client_metadata,
                "scope": "openid selfinfo:income",
                "backchannel_logout_uri": backchannel_uri,
                "purpose": "Checking your income for a housing loan",
            }
        )
        db.session.commit()


def _load_income(app) -> None:
    """The operator's import for the one account the card login created."""
    from idp.storage.accounts import Account
    from idp.storage.db import db
    from idp.storage.selfinfo import SelfInformation, canonical_json, content_hash
    from tests.selfinfo.samples import SAMPLES

    with app.app_context():
        account = db.session.execute(db.select(Account)).scalar_one()
        data = SAMPLES["income"]
        db.session.add(
            SelfInformation(
                account_id=account.id,
                category="income",
                data=canonical_json(data),
                content_hash=content_hash(data, "2026-06-01"),
                as_of="2026-06-01",
            )
        )
        db.session.commit()


def _sessions(app) -> list[str]:
    """The live IdP sessions of the one account the card login created."""
    from idp.oidc.sessions import sessions_of
    from idp.storage.accounts import Account
    from idp.storage.db import db

    store = services(app)[SERVER].services.store()
    with app.app_context():
        account = db.session.execute(db.select(Account)).scalar_one()
        known = sessions_of(store, account.id)
    return [sid for sid in known if store.get("session:" + sid) is not None]


def _read_income(idp: Idp, access_token: str):
    return idp.rp.http.get(
        "/selfinfo/v1/income", headers={"Authorization": "Bearer " + access_token}
    )


def _tab_to(page: Page, key_prefix: str, limit: int = 40) -> None:
    """Press Tab until the focus is on the control whose key starts with ``key_prefix``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is not None and now.key.startswith(key_prefix):
            return
    pytest.fail(f"Tab never reached {key_prefix}")


def _approve_with_card(page: Page) -> None:
    """On the consent screen: Approve by keyboard; the card signs, PIN in the bridge's window."""
    button = page.locator("#approve-button")
    expect(button).to_be_visible(timeout=30_000)
    snap(page, "consent-screen")
    button.focus()
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    pin_page = opened.value
    expect(pin_page.locator("#pin")).to_be_visible()
    pin_page.keyboard.type(AUTH_PIN)
    pin_page.keyboard.press("Enter")


@pytest.mark.pcsc
def test_the_citizen_revokes_a_consent_and_the_services_next_read_is_refused(
    page: Page,
    idp_with_bridge,  # noqa: F811 (the card login's fixture)
):
    idp, _card = idp_with_bridge
    app = idp.rp.http.application
    with logout_receiver() as (bcl_url, logout_tokens, logout_arrived):
        _let_the_bank_read_income(app, idp.rp.client_id, bcl_url)

        # The bank asks for the income; card login, then the consent screen with the card step.
        idp.start_login(page, scope="openid selfinfo:income")
        log_in_with_pin(page)
        _approve_with_card(page)
        page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
        tokens = idp.rp.token(query(page.url)["code"])
        assert tokens.status_code == 200, tokens.get_data(as_text=True)
        tokens = tokens.json
        assert "selfinfo:income" in tokens["scope"]
        _load_income(app)
        first = _read_income(idp, tokens["access_token"])
        assert first.status_code == 200, first.get_data(as_text=True)

        # Later the citizen comes back (no IdP session in the browser): the account pages ask
        # for the card, then show the account.
        page.context.clear_cookies()
        page.goto(idp.url + "/account")
        expect(page).to_have_url(re.compile(r"/login/card/"))
        log_in_with_pin(page)
        page.wait_for_url(idp.url + "/account", timeout=30_000)
        expect(page.locator("h1")).to_have_text("あなたのアカウント")
        sessions = _sessions(app)
        assert len(sessions) == 2  # the login at the bank, and this one
        card = page.locator("li.card")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("Sample Bank")
        expect(card).to_contain_text("住民税")
        expect(card).to_contain_text("カードで同意")
        expect(page.locator("#history")).to_contain_text("自己情報の読み取り")
        expect(page.locator("tr[data-record]")).to_have_count(2)  # the token, the read
        check_page(page, "overview")

        # Keyboard only: Tab to the bank's "end access", Enter; Tab to "End access", Enter.
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        _tab_to(page, "a#revoke-")
        page.keyboard.press("Enter")
        expect(page.locator("#confirm-revoke")).to_be_visible()
        check_page(page, "confirm-revoke")
        _tab_to(page, "button#confirm-revoke")
        page.keyboard.press("Enter")
        expect(page.locator("#revoked")).to_be_visible()
        expect(page.locator("h1")).to_contain_text("Sample Bank")
        check_page(page, "revoked")

        # The bank's next read is refused, its refresh token is dead, and it was told.
        refused = _read_income(idp, tokens["access_token"])
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        headers: dict = {}
        idp.rp.auth(form, headers)
        again = idp.rp.http.post("/token", data=form, headers=headers)
        assert again.json["error"] == "invalid_grant"
        assert logout_arrived.wait(timeout=15), "no back-channel logout reached the bank"
        claims = json.loads(_payload(logout_tokens[0]))
        assert "sid" not in claims
        assert claims["aud"] == idp.rp.client_id

        # Back to the account: no consent left, the history keeps both lines. Sign out everywhere.
        _tab_to(page, "a#back")
        page.keyboard.press("Enter")
        expect(page.locator("#no-consents")).to_be_visible()
        expect(page.locator("#history")).to_contain_text("停止済み")
        _tab_to(page, "button#sign-out-everywhere")
        page.keyboard.press("Enter")
        expect(page.locator("#signed-out")).to_have_attribute("data-everywhere", "1")
        check_page(page, "signed-out-everywhere")
        assert _sessions(app) == []

        page.goto(idp.url + "/account")  # the account pages ask for the card again
        expect(page).to_have_url(re.compile(r"/login/card/"))
        expect(page.locator("h1")).to_have_text("マイナンバーカードでログイン")
        snap(page, "card-login-again")


def _payload(token: str) -> str:
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
