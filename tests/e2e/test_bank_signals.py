"""The sample bank's page after a Shared Signals event, in Debian's Chromium: a
verified-facts-changed event shows "re-verification needed" (Japanese and English, axe-core,
keyboard), and the button runs the identity verification again; a session-revoked event ends the
bank session. The IdP logs in without a card (tests/cardless.py): the card is not the subject
here, the bank's page is. The SETs are pushed to the bank's /ssf/events as a transmitter does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey
from playwright.sync_api import Page, expect

from examples.relying_party import create_app, signals
from examples.relying_party.settings import BankSettings
from examples.relying_party.subscription import receiver
from sandbox.server import free_port
from tests.e2e.browser import assert_keyboard_reachable, axe, snap
from tests.e2e.test_consent import press
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving
from tests.relying_party.conftest import Idp, register


@dataclass
class World:
    idp: str
    bank: str
    bank_app: Flask
    client_id: str
    key: ECKey


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tests.conftest import drop_schema, idp_test_config, make_app

    compile_catalogues()
    tmp = tmp_path_factory.mktemp("bank-signals")
    port, bank_port = free_port(), free_port()
    config = idp_test_config(f"sqlite:///{tmp}/idp.sqlite3", issuer=f"http://127.0.0.1:{port}")
    app = make_app(config, tmp / "instance", cardless_login=True)
    settings = BankSettings(
        issuer=f"http://127.0.0.1:{port}",
        base_url=f"http://127.0.0.1:{bank_port}",
        instance=tmp / "bank",
    )
    settings.instance.mkdir()
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    keys = Flask("transmitter-keys")
    keys.get("/jwks")(lambda: jsonify({"keys": [key.as_dict(private=False)]}))
    try:
        with serving(app, port) as idp_url, serving(keys, free_port()) as keys_url:
            client_id = register(Idp(idp_url, app), settings)
            bank_app = create_app(settings)
            receiver(bank_app)._configuration = {"issuer": idp_url, "jwks_uri": keys_url + "/jwks"}
            with serving(bank_app, bank_port) as bank_url:
                yield World(idp_url, bank_url, bank_app, client_id, key)
    finally:
        drop_schema(app)


def tell(world: World, event: str, sub: str) -> None:
    """Push one SET about ``sub`` to the bank, as the IdP's transmitter does."""
    claims = {
        "iss": world.idp, "aud": world.client_id, "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16), "events": {event: {}},
        "sub_id": {"format": "iss_sub", "iss": world.idp, "sub": sub},
    }  # fmt: skip
    header = {"alg": "ES256", "kid": world.key.kid, "typ": "secevent+jwt"}
    token = jwt.encode(header, claims, world.key, algorithms=["ES256"])
    answer = requests.post(
        world.bank + "/ssf/events",
        data=token,
        headers={"Content-Type": "application/secevent+jwt"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def apply(page: Page, world: World) -> str:
    """Apply (the cardless IdP logs in and consents at once); the applicant's ``sub``."""
    page.goto(world.bank + "/")
    press(page, "#apply-button")
    page.wait_for_url(world.bank + "/application", timeout=30_000)
    logins = [s.data for s in world.bank_app.extensions["bank.sessions"]._sessions.values()]
    return next(data["sub"] for data in logins if data.get("login"))


def test_changed_facts_show_re_verification_needed_and_the_button_verifies_again(
    page: Page, world: World
):
    sub = apply(page, world)
    expect(page.locator("#reverify")).to_have_count(0)
    tell(world, signals.facts_changed(world.idp), sub)
    page.reload()
    expect(page.locator("#reverify-heading")).to_have_text("本人確認のやり直しが必要です")
    expect(page.locator("#reverify")).to_contain_text("（日本時間）")
    snap(page, "bank-reverify")
    axe(page)
    assert_keyboard_reachable(page)

    press(page, "#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#reverify-heading")).to_have_text("Re-verification needed")
    expect(page.locator("#verify-again-button")).to_have_text("Verify my identity again")
    snap(page, "bank-reverify-en")
    axe(page)

    time.sleep(1.1)  # a login is stamped to the second: the new one must be later than the event
    press(page, "#verify-again-button")
    page.wait_for_url(world.bank + "/application", timeout=30_000)
    expect(page.locator("#applicant")).to_be_visible()
    expect(page.locator("#reverify")).to_have_count(0)


def test_a_revoked_session_ends_the_bank_session_in_the_browser(page: Page, world: World):
    sub = apply(page, world)
    tell(world, signals.SESSION_REVOKED, sub)
    page.reload()
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "session_ended")
