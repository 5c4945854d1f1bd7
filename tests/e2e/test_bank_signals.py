"""The sample bank's page after a Shared Signals event, in Debian's Chromium: a
verified-facts-changed event shows "re-verification needed" (Japanese and English, axe-core,
keyboard), and the button runs the identity verification again; a session-revoked event ends the
bank session. The IdP logs in without a card (tests/cardless.py): the card is not the subject
here, the bank's page is. The bank subscribes to the IdP's Shared Signals as the demo does, and
the IdP's transmitter pushes the events of a status change it is told of (``card_status_changed``,
what the card-status listener calls).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from examples.relying_party import create_app
from examples.relying_party.settings import BankSettings
from examples.relying_party.subscription import receiver, subscribe
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange
from idp.services import services
from idp.ssf.signals import card_status_changed
from idp.ssf.streams import COURIER
from sandbox.server import free_port
from tests.cardless import DEFAULT_ACCOUNT
from tests.e2e.browser import assert_keyboard_reachable, axe, snap
from tests.e2e.test_consent import press
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving
from tests.relying_party.conftest import Idp, register


@dataclass
class World:
    idp: str
    idp_app: Flask
    bank: str
    bank_app: Flask


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
    try:
        with serving(app, port) as idp_url:
            register(Idp(idp_url, app), settings)
            bank_app = create_app(settings)
            with serving(bank_app, bank_port) as bank_url:
                assert subscribe(receiver(bank_app), wait=20)["verified"]
                yield World(idp_url, app, bank_url, bank_app)
    finally:
        if courier := services(app)[COURIER]:
            courier.stop()
        drop_schema(app)


def tell(world: World, kind: CertificateType, status: Status, reason: str) -> None:
    """The IdP learns of a status change of the applicant's card (its listener's call)."""
    change = StatusChange(
        issuer_hash="00" * 32, serial=secrets.token_hex(8).upper(), kind=kind, status=status,
        reason=reason, changed_at=dt.datetime.now(dt.UTC), source="feed",
    )  # fmt: skip
    with world.idp_app.app_context():
        assert card_status_changed(services(world.idp_app), DEFAULT_ACCOUNT, change) >= 1


def until(check, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the bank was not told"
        time.sleep(0.1)


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
    tell(world, CertificateType.SIGN, Status.REVOKED, "affiliationChanged")  # moved house
    book = world.bank_app.extensions["bank.signals"]
    until(lambda: book.reverify_needed(sub, 0) is not None)
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
    apply(page, world)
    tell(world, CertificateType.AUTH, Status.ON_HOLD, "certificateHold")  # suspended
    sessions = world.bank_app.extensions["bank.sessions"]
    until(lambda: not any(s.data.get("login") for s in sessions._sessions.values()))
    page.reload()
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "session_ended")
