"""The sample bank's whole story in Debian's Chromium: apply → card login →
identity verification and consent (signing PIN) → income read → contract signed at the IdP and
verified by the bank → download → logout. Then the unhappy endings: consent denied, the signing
certificate revoked between login and signing, the PIN locked. Everything real: the bank
(examples/relying_party) and the IdP on loopback ports, the bridge, the sandbox card in
"Virtual PCD 00 01" through pcscd, OCSP at a live sandbox responder. axe-core on the bank's pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from examples.relying_party import create_app
from examples.relying_party.settings import BankSettings
from idp.config import LoginConfig
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from sandbox import selfinfo
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, snap, zoom
from tests.e2e.test_card_login import log_in_with_pin
from tests.e2e.test_consent import approve_with_pin, press
from tests.e2e.test_document_signing import type_pin_in_bridge_window
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving
from tests.relying_party.conftest import register

pytestmark = pytest.mark.pcsc


@dataclass
class Story:
    bank: str
    idp: str
    state: SandboxState
    card_id: str


@contextmanager
def running_world(state: SandboxState, tmp: Path, bridge_url: str, port: int) -> Iterator[Story]:
    """The IdP (card login, consent screen, documents, the citizens' self-information) on
    ``port`` and the sample bank registered at it, on another port."""
    from flask.testing import FlaskCliRunner

    from idp.selfinfo.cli import selfinfo_group as selfinfo_cli
    from tests.conftest import drop_schema, idp_test_config, make_app
    from tests.relying_party.conftest import Idp

    compile_catalogues()
    with running_server(state, port=0) as responder:
        jpki = JpkiSettings(
            trust_anchors={kind: state.trust_dir(CertKind(kind.value)) for kind in CertificateType},
            allow_test_roots=True,
            ocsp_urls={kind: responder.ocsp_url(CertKind(kind.value)) for kind in CertificateType},
            revocation=dict.fromkeys(CertificateType, RevocationPolicy.OCSP),
            crl_index_dir=tmp / "crl-index",
        )
        config = idp_test_config(
            f"sqlite:///{tmp}/idp.sqlite3",
            issuer=f"http://127.0.0.1:{port}",
            jpki=jpki,
            login=LoginConfig(bridge_url=bridge_url),
        )
        app = make_app(config, tmp / "instance")
        data = tmp / "selfinfo.jsonl"
        with data.open("w", encoding="utf-8") as out:
            selfinfo.write_jsonl(state, out)
        imported = FlaskCliRunner(app).invoke(selfinfo_cli, ["import", str(data)])
        assert imported.exit_code == 0, imported.output
        bank_port = free_port()
        settings = BankSettings(
            issuer=f"http://127.0.0.1:{port}",
            base_url=f"http://127.0.0.1:{bank_port}",
            instance=tmp / "bank",
            trust_roots=(state.root / "ca" / "sign" / "ca.pem",),  # for the contract's check
        )
        settings.instance.mkdir()
        try:
            with serving(app, port) as idp_url:
                register(Idp(idp_url, app), settings)
                with serving(create_app(settings), bank_port) as bank_url:
                    yield Story(bank_url, idp_url, state, "")
        finally:
            drop_schema(app)


@pytest.fixture
def story(card, start_bridge: Callable[..., BridgeProcess], tmp_path: Path) -> Iterator[Story]:
    port = free_port()
    bridge = start_bridge(f"http://127.0.0.1:{port}")
    with running_world(card.state, tmp_path, f"http://127.0.0.1:{bridge.port}", port) as world:
        world.card_id = card.card_id
        yield world


PICTURE_LOADED = (
    "selector => { const i = document.querySelector(selector); "
    "return i.complete && i.naturalWidth > 0; }"
)
"""The review page's preview has arrived and decoded (the IdP drew it; a broken one has no
natural width)."""


def check_bank_page(page: Page, label: str) -> None:
    snap(page, label)
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    zoom(page, 100)


def apply_and_log_in(page: Page, story: Story, pin: str = AUTH_PIN, check: bool = False) -> None:
    """The bank's start page, "apply" by keyboard, the IdP's login page (PAR), the card login."""
    page.goto(story.bank + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    if check:
        check_bank_page(page, "bank-start")
    press(page, "#apply-button")
    page.wait_for_url(lambda url: url.startswith(story.idp + "/"), timeout=15_000)
    expect(page.locator("h1")).to_have_text("マイナンバーカードでログイン")
    log_in_with_pin(page, pin)


def test_the_whole_story_from_apply_to_logout(page: Page, story: Story):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    apply_and_log_in(page, story, check=True)

    expect(page.locator("#approve-button")).to_be_visible(timeout=30_000)  # the consent screen
    expect(page.locator("main")).to_contain_text("住宅ローンの審査")
    # identity: the signing certificate, with the same card's authentication key (§9)
    approve_with_pin(page, AUTH_PIN, "bridge-pin-identity", sign_pin=SIGN_PIN)
    page.wait_for_url(story.bank + "/application", timeout=30_000)
    citizen = story.state.card(story.card_id)
    expect(page.locator("#applicant-name")).to_have_text(citizen.name)
    expect(page.locator("#applicant-address")).to_have_text(citizen.address)
    born = dt.date.fromisoformat(str(citizen.birthdate))
    expect(page.locator("#applicant-birthdate")).to_have_text(
        f"{born.year}年{born.month}月{born.day}日"
    )
    expect(page.locator("#trust-framework")).to_have_text("犯罪収益移転防止法に基づく本人確認")
    expect(page.locator("#verified-at")).to_contain_text("（日本時間）")
    check_bank_page(page, "bank-applicant")

    press(page, "#income-button")
    expect(page.locator("#affordability")).to_be_visible(timeout=15_000)
    expect(page.locator("#income-total")).to_contain_text("円")
    check_bank_page(page, "bank-affordability")

    press(page, "#sign-button")  # to the IdP's review page; the IdP session is still there
    page.wait_for_url(lambda url: url.startswith(story.idp + "/documents/"), timeout=15_000)
    expect(page.locator("h1")).to_have_text("文書を確認して署名する")
    expect(page.locator("#document-title")).to_contain_text("住宅ローン契約書")
    expect(page.locator("#document-preview")).to_be_visible()  # the contract's first page
    page.wait_for_function(PICTURE_LOADED, arg="#document-preview", timeout=15_000)
    snap(page, "idp-review-preview")
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, same_code=True,
                              sign_pin=SIGN_PIN)  # fmt: skip
    page.wait_for_url(story.bank + "/contract", timeout=30_000)
    expect(page.locator("#contract-signed")).to_be_visible()
    expect(page.locator("#signer")).to_have_text(citizen.name)  # words, not the subject DN
    expect(page.locator("#signed-at")).to_contain_text("（日本時間）")
    expect(page.locator("#rate")).to_have_text("年1.80%（固定金利）")
    expect(page.locator("#check-verdict")).to_contain_text("有効です")  # the file's own check
    check_bank_page(page, "bank-contract-signed")
    with page.expect_download() as downloading:
        page.locator("#download-link").click()
    signed = Path(downloading.value.path()).read_bytes()
    assert signed.startswith(b"%PDF")
    assert b"/ByteRange" in signed
    page.locator("#application-link").click()  # signed: no second signature is offered
    expect(page.locator("#signed-contract-link")).to_be_visible()
    expect(page.locator("#sign-button")).to_have_count(0)

    page.locator("#received-link").click()
    expect(page.locator("#received-id_token")).to_contain_text("verified_claims")
    expect(page.locator("#received-selfinfo")).to_contain_text("household")
    check_bank_page(page, "bank-received")
    press(page, "#logout-button")
    page.wait_for_url(lambda url: url.startswith(story.bank + "/logged-out"), timeout=15_000)
    expect(page.locator("#logged-out")).to_be_visible()
    check_bank_page(page, "bank-logged-out")
    assert problems == []  # no CSP violation, no script error on the way
    page.goto(story.bank + "/application")
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "session_ended")


def test_consent_denied_ends_on_the_banks_page(page: Page, story: Story):
    apply_and_log_in(page, story)
    expect(page.locator("#deny-button")).to_be_visible(timeout=30_000)
    press(page, "#deny-button")
    page.wait_for_url(lambda url: url.startswith(story.bank + "/callback?"), timeout=15_000)
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "access_denied")
    check_bank_page(page, "bank-access-denied")
    press(page, "#switch-language")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#refusal")).to_have_text("You did not allow the bank to proceed")
    check_bank_page(page, "bank-access-denied-en")


def test_a_certificate_revoked_between_login_and_signing_signs_nothing(page: Page, story: Story):
    apply_and_log_in(page, story)
    expect(page.locator("#approve-button")).to_be_visible(timeout=30_000)
    approve_with_pin(page, AUTH_PIN, "bridge-pin-identity", sign_pin=SIGN_PIN)
    page.wait_for_url(story.bank + "/application", timeout=30_000)
    press(page, "#income-button")
    expect(page.locator("#sign-button")).to_be_visible(timeout=15_000)
    story.state.revoke(story.card_id, CertKind.SIGN, "keyCompromise")  # e.g. reported lost
    press(page, "#sign-button")
    page.wait_for_url(lambda url: url.startswith(story.idp + "/documents/"), timeout=15_000)
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, sign_pin=SIGN_PIN)
    expect(page.locator("h1")).to_have_text("署名用電子証明書は失効しています", timeout=30_000)
    expect(page.locator("main")).to_contain_text("署名されていません")
    snap(page, "idp-signing-revoked")
    page.goto(story.bank + "/contract")  # the bank has no signed contract, and says so
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "signing_failed")
    check_bank_page(page, "bank-signing-failed")


def test_a_locked_pin_ends_at_the_bank_with_where_to_reset_it(page: Page, story: Story):
    apply_and_log_in(page, story, "9999")
    for _ in range(2):
        expect(page.locator("#state-failed")).to_be_visible(timeout=30_000)
        page.locator("#retry-button").click()
        log_in_with_pin(page, "9999")
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "pin_locked", timeout=30_000)
    expect(page.locator("main")).to_contain_text("市区町村の窓口")
    press(page, "#back-to-service")
    page.wait_for_url(lambda url: url.startswith(story.bank + "/callback?"), timeout=15_000)
    expect(page.locator("#refusal")).to_have_attribute("data-reason", "access_denied")
    expect(page.locator("#refusal-text")).to_contain_text("市区町村")
    check_bank_page(page, "bank-after-pin-locked")


def test_an_unticked_household_is_neither_claimed_nor_read(page: Page, story: Story):
    """The citizen unticks the optional household at the consent screen: the bank says what it
    was allowed, reads only the income, and says the figure assumes no dependants."""
    apply_and_log_in(page, story)
    expect(page.locator("#approve-button")).to_be_visible(timeout=30_000)
    press(page, 'input[value="selfinfo:household"]')
    expect(page.locator('input[value="selfinfo:household"]')).not_to_be_checked()
    approve_with_pin(page, AUTH_PIN, "bridge-pin-identity", sign_pin=SIGN_PIN)
    page.wait_for_url(story.bank + "/application", timeout=30_000)
    expect(page.locator("#granted-text")).to_contain_text("世帯情報は許可されていません")
    expect(page.locator("#income-button")).to_have_text("所得の情報を取得する")
    press(page, "#income-button")
    expect(page.locator("#affordability")).to_be_visible(timeout=15_000)
    expect(page.locator("#household-not-shared")).to_be_visible()
    expect(page.locator("#assumed-household")).to_be_visible()
    expect(page.locator("#sign-button")).to_be_visible()
    check_bank_page(page, "bank-household-not-shared")
