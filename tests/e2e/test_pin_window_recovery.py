"""The card login page and the bridge's PIN window together, in Debian's Chromium with the real
bridge and the sandbox card (serialised on the card reader's lock by the ``card`` fixture): the
window speaks the language chosen on the IdP's page, a closed window gives the page back at once,
a stale tab asks for no PIN, and a review page reloaded mid-signature leaves no window that
takes a password for nothing."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.bridge.conftest import AUTH_PIN, SIGN_PIN
from tests.e2e.browser import axe, snap
from tests.e2e.test_card_login import (  # noqa: F401 (idp_with_bridge is a fixture)
    approve_on_the_consent_screen,
    idp_with_bridge,
    log_in_with_pin,
)
from tests.e2e.test_document_signing import (  # noqa: F401 (setting, sign_tries: fixtures)
    Setting,
    open_review_logged_in,
    setting,
    sign_tries,
    type_pin_in_bridge_window,
)
from tests.oidc.rp import query

RECOVERED = 5_000
"""Milliseconds within which the page must be usable again: the bridge here waits 30 s for a PIN
(``start_bridge``), so the page cannot be waiting for the bridge's timeout."""

pytestmark = pytest.mark.pcsc


def test_the_window_speaks_the_language_chosen_on_the_login_page(page: Page, idp_with_bridge):  # noqa: F811
    """The browser asks for Japanese; the person switches the IdP's page to English: the
    bridge's window opens in English."""
    idp, _card = idp_with_bridge
    idp.start_login(page)
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    with page.expect_popup() as opened:
        page.locator("#login-button").click()
    window = opened.value
    expect(window.locator("#pin")).to_be_visible()
    expect(window.locator("html")).to_have_attribute("lang", "en")
    expect(window.locator("h1")).to_contain_text("Log in")
    expect(window.locator("button[value=sign]")).to_have_text("Log in")
    snap(window, "pin-window-en")
    window.locator("button[value=cancel]").click()


def open_the_pin_window(page: Page) -> Page:
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    with page.expect_popup() as opened:
        page.locator("#login-button").click()
    window = opened.value
    expect(window.locator("#pin")).to_be_visible()
    expect(page.locator("#state-working")).to_be_visible()
    return window


def test_closing_the_pin_window_gives_the_page_back_at_once(page: Page, idp_with_bridge):  # noqa: F811
    """The person closes the bridge's window without typing: the page cancels the card step,
    says so, and "Try again" opens a new window in which the login completes."""
    idp, _card = idp_with_bridge
    idp.start_login(page)
    open_the_pin_window(page).close()
    failed = page.locator("#state-failed")
    expect(failed).to_be_visible(timeout=RECOVERED)
    expect(failed).to_contain_text(
        "カードブリッジの画面が閉じられたため、カードでの操作を取り消しました"
    )
    expect(page.locator("#announce")).to_contain_text("カードでの操作を取り消しました")
    snap(page, "window-closed")
    axe(page)

    page.locator("#retry-button").click()
    log_in_with_pin(page)
    approve_on_the_consent_screen(page)
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
    assert "code" in query(page.url)


@pytest.mark.parametrize("locale", ["en-US"])
def test_the_card_step_alone_can_be_cancelled_from_the_page(page: Page, idp_with_bridge, locale):  # noqa: F811
    """The login page's "Cancel the card step" ends the bridge's operation and closes its
    window; the login itself goes on (no access_denied), and the next attempt is not busy."""
    idp, _card = idp_with_bridge
    idp.start_login(page, ui_locales="en")
    window = open_the_pin_window(page)
    page.locator("#cancel-card-step").click()
    failed = page.locator("#state-failed")
    expect(failed).to_be_visible(timeout=RECOVERED)
    expect(failed).to_contain_text("The card step was cancelled. Nothing was sent to the card")
    expect(page.locator("#retry-button")).to_be_visible()
    expect(page.locator("#back-to-service")).to_be_visible()
    page.wait_for_timeout(200)
    assert window.is_closed()
    assert not page.url.startswith(idp.rp.redirect_uri)

    page.locator("#retry-button").click()
    log_in_with_pin(page)
    approve_on_the_consent_screen(page)
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)


def test_a_stale_tab_asks_for_no_pin(page: Page, idp_with_bridge):  # noqa: F811
    """Two tabs show the same login; it completes in the second. The first, used afterwards,
    asks the IdP before it starts the bridge: no operation starts, no PIN window opens, and the
    page says the login is no longer valid."""
    idp, _card = idp_with_bridge
    idp.start_login(page)
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    started: list[str] = []
    page.on("request", lambda r: started.append(r.url) if "/v1/authenticate" in r.url else None)
    other = page.context.new_page()
    other.goto(page.url)
    log_in_with_pin(other)
    approve_on_the_consent_screen(other)
    other.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)

    windows = len(page.context.pages)
    with page.expect_navigation(timeout=RECOVERED):  # the page reloads, says the login ended
        page.locator("#login-button").click()
    expect(page.locator("#refusal")).to_have_attribute(
        "data-reason", "transaction_gone", timeout=RECOVERED
    )
    assert started == []
    assert len([p for p in page.context.pages if not p.is_closed()]) <= windows
    snap(page, "stale-tab")


def operation_status(window: Page, origin: str) -> dict:
    """The bridge's view of the operation ``window`` shows, as the page's origin reads it."""
    bridge, _, op_id = window.url.split("?")[0].partition("/pin/")
    url = f"{bridge}/v1/operations/{op_id}"
    request = urllib.request.Request(url, headers={"Origin": origin})  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return json.load(answer)


def test_reloading_the_review_page_mid_signature_leaves_no_window_that_signs_for_nothing(
    page: Page,
    setting: Setting,  # noqa: F811
):
    """The review page is reloaded while the bridge's window waits for the PIN and password:
    the bridge learns the operation is abandoned (from the page leaving, or the reloaded page),
    a window left open then takes nothing and says why (never "done"), the document stays
    unsigned, and the reloaded page signs it at once (the bridge is not busy)."""
    answer = open_review_logged_in(page, setting)
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    with page.expect_popup() as opened:
        page.locator("#sign-button").click()
    window = opened.value
    expect(window.locator("#signing-password")).to_be_visible()
    page.reload()
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    deadline = time.monotonic() + RECOVERED / 1000
    while operation_status(window, setting.url)["status"] != "failed":
        assert time.monotonic() < deadline, "the reloaded page did not abandon the operation"
        time.sleep(0.1)
    assert operation_status(window, setting.url)["error"] == "abandoned"

    # The unloading page usually closes its window itself; one left open takes nothing.
    if not window.is_closed():
        window.locator("#pin").fill(AUTH_PIN)
        window.locator("#signing-password").fill(SIGN_PIN)
        window.locator("button[value=sign]").click()
        expect(window.locator("#outcome")).to_contain_text(
            "要求元のページが再読み込みされたか閉じられたため"
        )
        expect(window.locator("body")).not_to_contain_text("結果をサイトに渡しました")
        expect(window.locator("form")).to_have_count(0)
        snap(window, "abandoned-window")
    assert setting.status(answer["document_id"])["status"] == "pending"

    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, sign_pin=SIGN_PIN)
    page.wait_for_url(lambda url: url.startswith(setting.callback + "?"), timeout=30_000)
    assert setting.status(answer["document_id"])["status"] == "signed"
