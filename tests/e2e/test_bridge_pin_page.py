"""The bridge's PIN page in Debian's Chromium, in Japanese and English: no axe-core violation of
WCAG 2.1 AA in any state, PIN entry by keyboard alone, wrong PINs announced with the tries left,
the last-try warning, and use at 200% zoom.

The real ``jpki-bridge run`` reads a sandbox card in "Virtual PCD 00 01" through pcscd; a stand-in
login page on another loopback origin starts each operation with ``fetch()`` and opens the PIN page
the way the IdP's page will (tests/e2e/login_stub.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from playwright.sync_api import Page, expect

from client_bridge import messages, protocol
from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN
from tests.e2e.browser import (
    assert_keyboard_reachable,
    assert_reflows,
    axe,
    focused,
    snap,
    zoom,
)
from tests.e2e.login_stub import LoginStub

pytestmark = [pytest.mark.pcsc, pytest.mark.parametrize("locale", ["ja-JP", "en-US"])]
WRONG_PIN = "9999"


@pytest.fixture
def login(start_bridge: Callable[..., BridgeProcess]) -> Iterator[LoginStub]:
    """The stand-in login page, allowed by a bridge that reads the card."""
    stub = LoginStub().start()
    try:
        bridge = start_bridge(stub.origin)
        stub.bridge = f"http://127.0.0.1:{bridge.port}"
        yield stub
    finally:
        stub.stop()


def lang_of(locale: str) -> str:
    return locale.split("-")[0]


def t(locale: str, key: str, **values: object) -> str:
    return messages.text(key, lang_of(locale), **values)


def open_pin_page(page: Page, login: LoginStub, key: str = "auth") -> Page:
    """On the login page, Tab to the button and press Enter; the PIN page opens in a new window."""
    page.goto(login.origin + ("/?key=sign" if key == "sign" else "/"))
    page.keyboard.press("Tab")
    assert focused(page).key == "button#login:Log in"
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    pin_page = opened.value
    expect(pin_page.locator("#pin")).to_be_visible()
    return pin_page


def type_pin(pin_page: Page, pin: str) -> None:
    """Keyboard only: the field has the focus when the page opens; Enter submits."""
    assert focused(pin_page).key == "input#pin:"
    pin_page.keyboard.type(pin)
    pin_page.keyboard.press("Enter")


def outcome(page: Page, login: LoginStub, count: int, text: str) -> dict:
    """The login page's verdict on its ``count``-th attempt, and the operation it ended with."""
    expect(page.locator("#outcome")).to_have_text(text, timeout=20_000)
    assert len(login.operations) == count
    return login.operations[-1]


def assert_signed_for(operation: dict, login: LoginStub) -> None:
    """The signature binds the login page's origin and challenge, under the card's certificate."""
    result = operation["result"]
    assert (result["origin"], result["challenge"]) == (login.origin, login.challenge)
    der = base64.urlsafe_b64decode(result["certificate"] + "==")
    signature = base64.urlsafe_b64decode(result["signature"] + "==")
    challenge = base64.urlsafe_b64decode(login.challenge + "=")
    x509.load_der_x509_certificate(der).public_key().verify(  # type: ignore[union-attr]
        signature,
        protocol.signed_value(login.origin, challenge),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def announced(pin_page: Page, text: str) -> None:
    """``text`` is in an element that assistive technology announces (role=alert or aria-live)."""
    live = pin_page.locator("[role=alert], [aria-live=assertive], [aria-live=polite]")
    expect(live.filter(has_text=text)).to_have_count(1)


def test_the_pin_is_typed_and_sent_by_keyboard_alone(page: Page, login: LoginStub, locale) -> None:
    pin_page = open_pin_page(page, login)
    expect(pin_page.locator("html")).to_have_attribute("lang", lang_of(locale))
    expect(pin_page.locator("h1")).to_have_text(t(locale, "title_authenticate"))
    expect(pin_page.locator("body")).to_contain_text(login.origin)
    expect(pin_page.locator("body")).to_contain_text(t(locale, "tries_left_auth", tries_left=3))
    snap(pin_page, "pin")
    axe(pin_page)
    order = assert_keyboard_reachable(pin_page)
    assert [focus.key for focus in order] == [
        f"a:{t(locale, 'other_language')}",
        "input#pin:",
        f"button[name=action]:{t(locale, 'submit_authenticate')}",
        f"button[name=action]:{t(locale, 'cancel')}",
    ]
    assert order[1].name == t(locale, "pin_label_authenticate")

    pin_page.reload()  # the focus back where a person finds it on opening the page
    type_pin(pin_page, AUTH_PIN)
    expect(pin_page.locator("body")).to_contain_text(t(locale, "done"))
    snap(pin_page, "done")
    axe(pin_page)
    assert_signed_for(outcome(page, login, 1, "done"), login)
    snap(page, "login")


def test_a_wrong_pin_is_announced_then_the_last_try_is_warned(
    page: Page, login: LoginStub, locale
) -> None:
    for attempt, tries_left in ((1, 2), (2, 1)):
        pin_page = open_pin_page(page, login)
        type_pin(pin_page, WRONG_PIN)
        announced(pin_page, t(locale, "wrong_pin", tries_left=tries_left))
        assert focused(pin_page).tag == "p"  # the error has the focus: a screen reader reads it
        assert t(locale, "wrong_pin", tries_left=tries_left) in focused(pin_page).name
        expect(pin_page.locator("body")).to_contain_text(t(locale, "failed_next"))
        expect(pin_page.locator("#tries-left")).to_have_count(0)  # no stale count beside it
        if tries_left == 1:
            announced(pin_page, t(locale, "last_try_auth"))
        expect(pin_page.locator("#pin")).to_have_count(0)  # the bridge never retries by itself
        snap(pin_page, f"wrong-{attempt}")
        axe(pin_page)
        operation = outcome(page, login, attempt, "failed: wrong_pin")
        assert operation["tries_left"] == tries_left
        pin_page.close()

    pin_page = open_pin_page(page, login)
    announced(pin_page, t(locale, "last_try_auth"))
    expect(pin_page.locator("#pin")).to_have_attribute("aria-describedby", "tries-left last-try")
    expect(pin_page.locator("#tries-left")).to_have_text(t(locale, "tries_left_auth", tries_left=1))
    snap(pin_page, "last-try")
    axe(pin_page)
    type_pin(pin_page, AUTH_PIN)
    expect(pin_page.locator("body")).to_contain_text(t(locale, "done"))
    assert_signed_for(outcome(page, login, 3, "done"), login)


def test_the_page_works_at_200_percent_zoom(page: Page, login: LoginStub, locale) -> None:
    pin_page = open_pin_page(page, login)
    zoom(pin_page, 400)  # 320 CSS pixels wide: WCAG 1.4.10 reflow, beyond the 200% asked
    assert_reflows(pin_page)
    snap(pin_page, "zoom-400")
    zoom(pin_page, 200)
    assert_reflows(pin_page)
    snap(pin_page, "zoom-200")
    axe(pin_page)
    assert_keyboard_reachable(pin_page)

    pin_page.reload()  # the focus back in the field, as on opening
    type_pin(pin_page, WRONG_PIN)
    announced(pin_page, t(locale, "wrong_pin", tries_left=2))
    assert focused(pin_page).name == t(locale, "wrong_pin", tries_left=2)
    assert_reflows(pin_page)
    snap(pin_page, "zoom-200-wrong")
    axe(pin_page)
    outcome(page, login, 1, "failed: wrong_pin")


def test_a_malformed_password_is_explained_at_the_field(
    page: Page, login: LoginStub, locale
) -> None:
    """The signing password (6 to 16 characters): a short one never reaches the card, the field is
    marked invalid and described by the problem, and the right one then signs."""
    pin_page = open_pin_page(page, login, key="sign")
    expect(pin_page.locator("label[for=pin]")).to_have_text(t(locale, "pin_label_sign"))
    axe(pin_page)
    type_pin(pin_page, "AB1")
    announced(pin_page, t(locale, "pin_format_sign"))
    field = pin_page.locator("#pin")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "tries-left pin-problem")
    snap(pin_page, "pin-format")
    axe(pin_page)
    type_pin(pin_page, SIGN_PIN)
    expect(pin_page.locator("body")).to_contain_text(t(locale, "done"))
    operation = outcome(page, login, 1, "done")
    assert (operation["tries_left"], operation["result"]["purpose"]) == (5, "identity")
    assert_signed_for(operation, login)


def test_the_other_language_is_one_key_press_away(page: Page, login: LoginStub, locale) -> None:
    other = "en" if lang_of(locale) == "ja" else "ja"
    pin_page = open_pin_page(page, login)
    pin_page.keyboard.press("Shift+Tab")  # from the field back to the language link
    assert focused(pin_page).name == t(locale, "other_language")
    pin_page.keyboard.press("Enter")
    expect(pin_page.locator("html")).to_have_attribute("lang", other)
    expect(pin_page.locator("h1")).to_have_text(messages.text("title_authenticate", other))
    snap(pin_page, other)
    axe(pin_page)
    type_pin(pin_page, AUTH_PIN)
    expect(pin_page.locator("body")).to_contain_text(messages.text("done", other))
    assert_signed_for(outcome(page, login, 1, "done"), login)


def test_an_expired_pin_window_is_explained(page: Page, login: LoginStub, locale) -> None:
    """A PIN window opened again after its operation ended (or for nothing) is a page, not JSON."""
    page.goto(login.bridge + "/pin/no-such-operation")
    expect(page.locator("h1")).to_have_text(t(locale, "window_gone"))
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page)
    assert_reflows(page)
    snap(page)
