"""The card login page and the bridge's PIN window together, in Debian's Chromium with the real
bridge and the sandbox card (serialised on the card reader's lock by the ``card`` fixture): the
window speaks the language chosen on the IdP's page, a closed window gives the page back at once,
a stale tab asks for no PIN, and a review page reloaded mid-signature leaves no window that
takes a password for nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import axe, snap
from tests.e2e.test_card_login import (  # noqa: F401 (idp_with_bridge is a fixture)
    approve_on_the_consent_screen,
    idp_with_bridge,
    log_in_with_pin,
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
        "カードブリッジの画面が閉じられたため、カードでの手続きを取り消しました"
    )
    expect(page.locator("#announce")).to_contain_text("カードでの手続きを取り消しました")
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
