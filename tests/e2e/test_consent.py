"""The consent screen in Debian's Chromium, end to end: after a real card
login through the real bridge, approve self-information with the card again (step-up, the PIN
typed in the bridge's window), approve part of a request, deny, switch the language, prove an
identity with the signing certificate; a wrong PIN and the bridge going away are explained on the
page. axe-core, keyboard-only use and 200% zoom on every state; screenshots of all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Page, expect

from idp.consent.refusals import SHOWN_AGAIN
from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from idp.oidc.claims import SELFINFO_SCOPES
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.server import free_port
from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN, insert_card
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, focused, snap, zoom
from tests.e2e.test_card_login import Idp, log_in_with_pin, running_idp
from tests.oidc.rp import query

PURPOSE = "住宅ローンの審査"
SELFINFO = "openid selfinfo:income selfinfo:household"

pytestmark = pytest.mark.pcsc


def register_purpose_and_scopes(idp: Idp) -> None:
    """The relying party states a purpose and retention and may ask for self-information."""
    from idp.oidc.clients import find_client
    from idp.storage.db import db

    app = idp.rp.http.application
    with app.app_context():
        client = find_client(idp.rp.client_id)
        scope = " ".join(("openid", *SELFINFO_SCOPES))
        metadata = {**client.client_metadata, "purpose": PURPOSE, "retention_days": 90}
        client.set_client_metadata({**metadata, "scope": scope, "trust_framework": "jp_aml"})
        db.session.commit()


@pytest.fixture
def consent_world(
    card, start_bridge: Callable[..., BridgeProcess], tmp_path: Path
) -> Iterator[tuple[Idp, BridgeProcess]]:
    """The IdP (its relying party with a purpose and self-information scopes) and the bridge."""
    port = free_port()
    bridge = start_bridge(f"http://127.0.0.1:{port}")
    with running_idp(card.state, tmp_path, f"http://127.0.0.1:{bridge.port}", port) as idp:
        register_purpose_and_scopes(idp)
        yield idp, bridge


def check_page(page: Page, label: str) -> None:
    """axe-core, every control by keyboard, 200% zoom reflow; screenshots at 100% and 200%."""
    snap(page, label)
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    snap(page, label + "-zoom-200")
    zoom(page, 100)


def to_consent(page: Page, idp: Idp, **params: str) -> dict:
    """/authorize, the card login with the PIN in the bridge's window, then the consent page."""
    request = idp.start_login(page, **params)
    log_in_with_pin(page)
    expect(page.locator("#approve-button")).to_be_visible(timeout=30_000)
    return request


def press(page: Page, selector: str) -> None:
    """Keyboard only: focus the control, Enter (a checkbox: Space)."""
    control = page.locator(selector)
    control.focus()
    assert focused(page) is not None
    page.keyboard.press("Space" if control.get_attribute("type") == "checkbox" else "Enter")


def approve_with_pin(page: Page, pin: str, label: str, *, check: bool = False,
                     sign_pin: str | None = None) -> None:  # fmt: skip
    """Approve; the bridge's window opens for the card step; the PIN there, Enter. ``check``:
    the consent page's own state meanwhile passes axe. ``sign_pin``: verified identity,
    both keys at once (bridge-protocol.md §9): the PIN, Tab, the signing password, Enter."""
    with page.expect_popup() as opened:
        press(page, "#approve-button")
    pin_page = opened.value
    expect(pin_page.locator("#pin")).to_be_visible()
    if sign_pin is not None:
        expect(pin_page.locator("#signing-password")).to_be_visible()
        axe(pin_page)
    snap(pin_page, label)
    if check:
        expect(page.locator("#state-working")).to_be_visible()
        expect(page.locator("#approve-button")).to_be_disabled()
        snap(page, "consent-working")
        axe(page)
    pin_page.keyboard.type(pin)
    if sign_pin is not None:
        pin_page.keyboard.press("Tab")
        pin_page.keyboard.type(sign_pin)
    pin_page.keyboard.press("Enter")


def at_relying_party(page: Page, idp: Idp) -> dict[str, str]:
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
    return query(page.url)


def tokens(idp: Idp, params: dict[str, str]) -> dict:
    response = idp.rp.token(params["code"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_approving_self_information_needs_the_card_again(page: Page, consent_world):
    idp, _bridge = consent_world
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    request = to_consent(page, idp, scope=SELFINFO, state="approve")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("Sample Bank に情報を提供しますか？")
    expect(page.locator("#purpose")).to_have_text(PURPOSE)
    expect(page.locator("#retention")).to_have_text("3か月")  # 90 days, in months
    expires = page.locator("#expires time")  # Japan time with the time of day
    expect(expires).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}$"))
    assert (expires.get_attribute("datetime") or "").endswith("+09:00")
    footer = page.locator("footer#operator")  # who runs the IdP, on every page
    expect(footer).to_contain_text("このログインサービスはテスト運営機構が運営しています。")
    expect(footer.locator("#privacy-link")).to_have_attribute(
        "href", "https://operator.example.jp/privacy"
    )
    expect(footer.locator("a[href^='tel:']")).to_have_text("0120-111-222")
    expect(page.locator("main")).to_contain_text("住民税の課税・所得情報")
    expect(page.locator("#note-auth")).to_be_visible()  # the card will be needed
    check_page(page, "consent-selfinfo")

    approve_with_pin(page, AUTH_PIN, "bridge-pin-step-up", check=True)
    params = at_relying_party(page, idp)
    assert params["state"] == request["state"]
    scopes = tokens(idp, params)["scope"].split()
    assert {"selfinfo:income", "selfinfo:household"} <= set(scopes)
    assert problems == []  # no CSP violation, no script error on the way


def test_partial_approval_leaves_the_unticked_item_out(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, scope=SELFINFO)
    household = page.locator('input[value="selfinfo:household"]')
    press(page, 'input[value="selfinfo:household"]')
    expect(household).not_to_be_checked()
    snap(page, "consent-partial")
    axe(page)
    approve_with_pin(page, AUTH_PIN, "bridge-pin-partial")
    scopes = tokens(idp, at_relying_party(page, idp))["scope"].split()
    assert "selfinfo:income" in scopes
    assert "selfinfo:household" not in scopes


def test_unticking_every_card_item_approves_without_the_card(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, scope="openid selfinfo:pension")
    press(page, 'input[value="selfinfo:pension"]')
    expect(page.locator("#note-auth")).to_be_hidden()  # nothing needs the card any more
    press(page, "#approve-button")
    scopes = tokens(idp, at_relying_party(page, idp))["scope"].split()
    assert "selfinfo:pension" not in scopes


def test_deny_returns_access_denied_to_the_service(page: Page, consent_world):
    idp, _bridge = consent_world
    request = to_consent(page, idp, scope=SELFINFO, state="deny")
    press(page, "#deny-button")
    params = at_relying_party(page, idp)
    assert params["error"] == "access_denied"
    assert params["state"] == request["state"]
    assert "code" not in params


@pytest.mark.parametrize("locale", ["en-US"])
def test_the_language_switch_and_ui_locales(page: Page, consent_world, locale):
    idp, _bridge = consent_world
    to_consent(page, idp, scope="openid")  # no choice made: the browser's English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Share your information with Sample Bank?")
    expect(page.locator("#retention")).to_have_text("3 months")  # 90 days
    press(page, "#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#retention")).to_have_text("3か月")
    press(page, "#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_page(page, "consent-en")
    press(page, "#approve-button")  # the identifier only: the session is enough
    assert "code" in at_relying_party(page, idp)


def test_a_wrong_pin_is_explained_and_the_next_try_approves(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, scope=SELFINFO)
    approve_with_pin(page, "9999", "bridge-pin-wrong")
    failed = page.locator("#state-failed")
    expect(failed).to_be_visible(timeout=30_000)
    expect(failed).to_contain_text("暗証番号が違います")
    expect(page.locator("#announce")).to_contain_text("暗証番号が違います")
    check_page(page, "consent-wrong-pin")
    approve_with_pin(page, AUTH_PIN, "bridge-pin-retry")
    assert "code" in at_relying_party(page, idp)


def test_the_bridge_going_away_is_explained(page: Page, consent_world):
    idp, bridge = consent_world
    to_consent(page, idp, scope=SELFINFO)
    bridge.stop()
    with page.expect_popup():
        press(page, "#approve-button")
    missing = page.locator("#state-bridge_missing")
    expect(missing).to_be_visible(timeout=15_000)
    expect(missing).to_contain_text(f"jpki-bridge run --allow-origin {idp.url}")
    check_page(page, "consent-bridge-missing")


def test_identity_is_proven_with_the_signing_certificate(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, acr_values=ACR_SIGN_IDENTITY)
    expect(page.locator("#note-sign")).to_be_visible()
    expect(page.locator("main")).to_contain_text("署名用電子証明書")
    check_page(page, "consent-identity")
    approve_with_pin(page, AUTH_PIN, "bridge-pin-signing", sign_pin=SIGN_PIN)
    token = tokens(idp, at_relying_party(page, idp))
    keys = KeySet.import_key_set(idp.rp.http.get("/jwks").json)
    assert jwt.decode(token["id_token"], keys).claims["acr"] == ACR_SIGN_IDENTITY


def test_another_persons_card_cannot_prove_the_identity(page: Page, consent_world, card):
    """Card A logs in; then card B, another citizen's, is on the reader for the identity step.
    The bridge signs with both of B's keys, and the IdP refuses: B's authentication certificate
    is not the account's. Nothing reaches the service."""
    idp, _bridge = consent_world
    to_consent(page, idp, acr_values=ACR_SIGN_IDENTITY)  # logged in with card A
    other = card.state.issue_card(SAMPLE_CITIZENS[1], AUTH_PIN, SIGN_PIN).id
    card.remove()
    with insert_card(card.state, other):
        approve_with_pin(page, AUTH_PIN, "bridge-pin-another-card", sign_pin=SIGN_PIN)
        refusal = page.locator("#refusal")
        expect(refusal).to_have_attribute("data-reason", "another_card", timeout=30_000)
        expect(page.locator("main")).to_contain_text("ログインに使ったカードではありません")
        check_page(page, "consent-another-card")
        press(page, "#back-to-service")
        assert at_relying_party(page, idp)["error"] == "access_denied"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_consent_refusal_page_passes_axe_by_keyboard_and_at_200_percent(
    page: Page, consent_world, language: str
):
    idp, _bridge = consent_world
    to_consent(page, idp, scope=SELFINFO, ui_locales=language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    consent_path = page.url.split("?")[0]
    for kind in SHOWN_AGAIN:
        for key in ("auth", "sign"):
            page.goto(f"{consent_path}/refused/{kind}/{key}")
            expect(page.locator("#refusal")).to_have_attribute("data-reason", kind)
            expect(page.locator("#back-to-service")).to_be_visible()
            snap(page, f"{kind}-{key}-{language}")
            axe(page)
            assert_keyboard_reachable(page)
            zoom(page, 200)
            assert_reflows(page)
            zoom(page, 100)
    page.goto(consent_path)  # the request is still there: going back works
    expect(page.locator("#approve-button")).to_be_visible()
    press(page, "#deny-button")
    at_relying_party(page, idp)
    page.goto(consent_path)  # answered: the start-again page
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "consent_gone")
    check_page(page, f"consent_gone-{language}")


def test_a_pin_locked_during_the_step_up_ends_on_its_page(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, scope=SELFINFO)
    for attempt in range(3):
        approve_with_pin(page, "9999", f"bridge-pin-wrong-{attempt + 1}")
        if attempt < 2:
            expect(page.locator("#state-failed")).to_be_visible(timeout=30_000)
    refusal = page.locator("#refusal")
    expect(refusal).to_have_attribute("data-reason", "pin_locked", timeout=30_000)
    expect(page.locator("main")).to_contain_text("市区町村の窓口")
    check_page(page, "consent-pin-locked")
    press(page, "#back-to-service")  # nothing more to do here: back, nothing shared
    assert at_relying_party(page, idp)["error"] == "access_denied"


def test_the_card_step_can_be_cancelled_and_then_denied(page: Page, consent_world):
    idp, _bridge = consent_world
    to_consent(page, idp, scope=SELFINFO)
    with page.expect_popup() as opened:
        press(page, "#approve-button")
    expect(opened.value.locator("#pin")).to_be_visible()
    expect(page.locator("#deny-button")).to_be_disabled()  # one thing at a time
    press(page, "#cancel-card-step")
    failed = page.locator("#state-failed")
    expect(failed).to_be_visible(timeout=15_000)
    expect(page.locator("#deny-button")).to_be_enabled()
    snap(page, "consent-cancelled")
    axe(page)
    press(page, "#deny-button")
    assert at_relying_party(page, idp)["error"] == "access_denied"
