"""The card login page and the bridge's PIN window together, in Debian's Chromium with the real
bridge and the sandbox card (serialised on the card reader's lock by the ``card`` fixture): the
window speaks the language chosen on the IdP's page, a closed window gives the page back at once,
a stale tab asks for no PIN, and a review page reloaded mid-signature leaves no window that
takes a password for nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import snap
from tests.e2e.test_card_login import idp_with_bridge  # noqa: F401 (a fixture)

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
