"""The card login in Debian's Chromium, end to end: a relying party's authorization request, the
IdP's login page finding the real ``jpki-bridge run``, the sandbox card in "Virtual PCD 00 01"
through pcscd, the PIN typed on the bridge's page, OCSP at a live sandbox responder, and the
code back at the relying party. A revoked card is refused with its page; the bridge not running
is explained; the language switch works; axe-core finds nothing on any page; screenshots of all.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Page, expect

from idp.config import LoginConfig
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from idp.login.refusals import SHOWN_AGAIN
from idp.oidc.authenticator import ACR_CARD_AUTH
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER
from tests.bridge.test_pcsc import bank_card  # noqa: F401 (a fixture: a non-JPKI card)
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, focused, snap, zoom
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving
from tests.oidc.rp import RelyingParty, query

RP_PAGE = b"<!doctype html><html lang='en'><title>Sample Bank</title><main><h1>Sample Bank</h1>"


class _RelyingPartyPage(BaseHTTPRequestHandler):
    """The relying party's redirect URI: a page that only says where the browser landed."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(RP_PAGE)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def relying_party_site() -> Iterator[str]:
    """The callback URL of a loopback stand-in for the relying party's site."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RelyingPartyPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cb"
    finally:
        server.shutdown()
        server.server_close()


@dataclasses.dataclass
class Idp:
    url: str
    rp: RelyingParty

    def start_login(self, page: Page, **params: str) -> dict:
        """The relying party sends the browser to /authorize; returns the request's parameters."""
        request = self.rp.authorization_params(**params)
        page.goto(self.url + "/authorize?" + urlencode(request))
        return request


@contextmanager
def running_idp(state: SandboxState, tmp: Path, bridge_url: str, port: int) -> Iterator[Idp]:
    """A testing IdP on 127.0.0.1:port with the card login, OCSP at a live sandbox responder."""
    from idp.oidc.clients import register_client
    from tests.conftest import drop_schema, idp_test_config, make_app, operator_config

    compile_catalogues()
    with running_server(state, port=0) as responder, relying_party_site() as callback:
        jpki = JpkiSettings(
            trust_anchors={
                CertificateType.AUTH: state.trust_dir(CertKind.AUTH),
                CertificateType.SIGN: state.trust_dir(CertKind.SIGN),
            },
            allow_test_roots=True,
            ocsp_urls={
                CertificateType.AUTH: responder.ocsp_url(CertKind.AUTH),
                CertificateType.SIGN: responder.ocsp_url(CertKind.SIGN),
            },
            revocation=dict.fromkeys(CertificateType, RevocationPolicy.OCSP),
            crl_index_dir=tmp / "crl-index",
        )
        config = idp_test_config(
            f"sqlite:///{tmp}/idp.sqlite3",
            issuer=f"http://127.0.0.1:{port}",
            jpki=jpki,
            login=LoginConfig(bridge_url=bridge_url),
            operator=operator_config(),
        )
        app = make_app(config, tmp / "instance")
        with app.app_context():
            client, secret = register_client("Sample Bank", [callback], "client_secret_basic")
            rp = RelyingParty(app.test_client(), client.client_id, callback, secret=secret)
        try:
            with serving(app, port) as url:
                yield Idp(url, rp)
        finally:
            drop_schema(app)


@pytest.fixture
def idp_with_bridge(
    card, start_bridge: Callable[..., BridgeProcess], tmp_path: Path
) -> Iterator[tuple[Idp, object]]:
    """The IdP and the real bridge allowing it, reading the sandbox card."""
    port = free_port()
    bridge = start_bridge(f"http://127.0.0.1:{port}")
    with running_idp(card.state, tmp_path, f"http://127.0.0.1:{bridge.port}", port) as idp:
        yield idp, card


def challenge_requests(page: Page) -> list[str]:
    """The challenge requests the page's script makes (filled in as they happen)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.url) if r.method == "POST" and r.url.endswith("/challenge") else None
        ),
    )
    return seen


def log_in_with_pin(page: Page, pin: str = AUTH_PIN) -> None:
    """Keyboard only: Tab to the login button, Enter; the PIN in the bridge's window, Enter."""
    button = page.locator("#login-button")
    expect(button).to_be_visible(timeout=15_000)
    button.focus()
    assert focused(page).key.startswith("button#login-button")
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    pin_page = opened.value
    expect(pin_page.locator("#pin")).to_be_visible()
    snap(pin_page, "bridge-pin")
    pin_page.keyboard.type(pin)
    pin_page.keyboard.press("Enter")


def approve_on_the_consent_screen(page: Page) -> None:
    """After the login the consent screen asks (idp.consent): keyboard only, Approve."""
    button = page.locator("#approve-button")
    expect(button).to_be_visible(timeout=30_000)
    button.focus()
    page.keyboard.press("Enter")


pytestmark = pytest.mark.pcsc


def test_a_card_login_completes_and_the_relying_party_gets_a_code(page: Page, idp_with_bridge):
    idp, _card = idp_with_bridge
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    asked = challenge_requests(page)
    request = idp.start_login(page, state="e2e-state")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("マイナンバーカードでログイン")
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    snap(page, "ready")
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    snap(page, "ready-zoom-200")
    zoom(page, 100)

    log_in_with_pin(page)
    approve_on_the_consent_screen(page)
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
    params = query(page.url)
    assert params["state"] == request["state"]
    assert problems == []  # no CSP violation, no script error on the way
    assert asked == []  # the page's own challenge was signed: no request for one
    token = idp.rp.token(params["code"])
    assert token.status_code == 200, token.get_data(as_text=True)
    assert token.json["token_type"] in ("Bearer", "DPoP")
    keys = KeySet.import_key_set(idp.rp.http.get("/jwks").json)
    claims = jwt.decode(token.json["id_token"], keys).claims
    assert claims["acr"] == ACR_CARD_AUTH
    assert claims["iss"] == idp.url


@pytest.mark.parametrize("locale", ["en-US"])
def test_a_revoked_card_is_refused_with_its_page(page: Page, idp_with_bridge, locale):
    idp, card = idp_with_bridge
    card.state.revoke(card.card_id, CertKind.AUTH, "keyCompromise")
    idp.start_login(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the browser's language
    log_in_with_pin(page)
    refusal = page.locator("#refusal")
    expect(refusal).to_have_attribute("data-reason", "revoked", timeout=30_000)
    expect(refusal).to_have_text("Your card's certificate has been revoked")
    assert not page.url.startswith(idp.rp.redirect_uri)
    snap(page, "revoked-en")
    axe(page)
    assert_keyboard_reachable(page)

    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(refusal).to_have_text("カードの電子証明書は失効しています")
    snap(page, "revoked-ja")
    axe(page)

    back = page.locator("#back-to-service")  # the way back to the service: access_denied
    expect(back).to_have_text("Sample Bank に戻る")
    back.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=15_000)
    assert query(page.url)["error"] == "access_denied"


def test_the_bridge_not_running_is_explained_and_the_language_switch_is_remembered(
    page: Page, template_state, tmp_path: Path
):
    state, _card_id = template_state
    nobody = f"http://127.0.0.1:{free_port()}"
    with running_idp(state, tmp_path, nobody, free_port()) as idp:
        idp.start_login(page)
        missing = page.locator("#state-bridge_missing")
        expect(missing).to_be_visible(timeout=15_000)
        expect(missing).to_contain_text(f"jpki-bridge run --allow-origin {idp.url}")
        expect(page.locator("#announce")).to_contain_text("カードブリッジが起動していません")
        snap(page, "bridge-missing-ja")
        axe(page)
        order = assert_keyboard_reachable(page)
        assert order[0].key == "a#switch-language:English"

        page.keyboard.press("Shift+Tab")  # keyboard only: back to the switch, Enter
        while focused(page) is None or focused(page).key != "a#switch-language:English":
            page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(missing).to_contain_text("The card bridge is not running", timeout=15_000)
        snap(page, "bridge-missing-en")
        axe(page)
        zoom(page, 200)
        assert_reflows(page)
        snap(page, "bridge-missing-en-zoom-200")

        page.goto(page.url.split("?")[0])  # no ?lang=: the cookie remembers English
        expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_wrong_pin_is_explained_and_the_next_try_logs_in(page: Page, idp_with_bridge):
    idp, _card = idp_with_bridge
    asked = challenge_requests(page)
    idp.start_login(page)
    log_in_with_pin(page, "9999")
    failed = page.locator("#state-failed")
    expect(failed).to_be_visible(timeout=30_000)
    expect(failed).to_contain_text("暗証番号が違います")
    expect(page.locator("#announce")).to_contain_text("暗証番号が違います")
    snap(page, "wrong-pin")
    axe(page)
    assert_keyboard_reachable(page)

    page.locator("#retry-button").focus()
    page.keyboard.press("Enter")
    log_in_with_pin(page)
    approve_on_the_consent_screen(page)
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
    assert "code" in query(page.url)
    assert len(asked) == 1  # the second attempt asked for a fresh challenge


def test_a_page_left_open_past_its_challenge_asks_for_a_fresh_one(page: Page, idp_with_bridge):
    """The browser's clock moves on two minutes (as over a lunch break, or a computer's sleep):
    the script does not send the bridge the page's stale challenge but asks for a new one."""
    idp, _card = idp_with_bridge
    asked = challenge_requests(page)
    page.clock.install()
    idp.start_login(page)
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    page.clock.fast_forward("02:00")
    log_in_with_pin(page)
    approve_on_the_consent_screen(page)
    page.wait_for_url(lambda url: url.startswith(idp.rp.redirect_uri + "?"), timeout=30_000)
    assert "code" in query(page.url)
    assert len(asked) == 1


def test_no_card_in_the_reader_is_explained(page: Page, idp_with_bridge):
    idp, card = idp_with_bridge
    card.remove()
    idp.start_login(page)
    no_card = page.locator("#state-no_card")
    expect(no_card).to_be_visible(timeout=15_000)
    expect(no_card).to_contain_text("マイナンバーカードを置いて")
    snap(page, "no-card")
    axe(page)
    assert_keyboard_reachable(page)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_refusal_page_passes_axe_by_keyboard_and_at_200_percent(
    page: Page, template_state, tmp_path: Path, language: str
):
    """Each refusal page as the citizen would see it, in both languages (no card needed)."""
    state, _card_id = template_state
    with running_idp(state, tmp_path, f"http://127.0.0.1:{free_port()}", free_port()) as idp:
        idp.start_login(page, ui_locales=language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        login_path = page.url.split("?")[0]
        for kind in SHOWN_AGAIN:
            page.goto(f"{login_path}/refused/{kind}")
            expect(page.locator("#refusal")).to_have_attribute("data-reason", kind)
            expect(page.locator("html")).to_have_attribute("lang", language)
            snap(page, f"{kind}-{language}")
            axe(page)
            assert_keyboard_reachable(page)
            zoom(page, 200)
            assert_reflows(page)
            zoom(page, 100)
        page.goto(idp.url + "/login/card/" + "A" * 43)
        expect(page.locator("#refusal")).to_have_attribute("data-reason", "transaction_gone")
        snap(page, f"transaction_gone-{language}")
        axe(page)


def test_a_locked_pin_ends_on_its_page(page: Page, idp_with_bridge):
    """Three wrong PINs lock the card; the login page then shows where to have it reset."""
    idp, _card = idp_with_bridge
    idp.start_login(page)
    for attempt in range(3):
        log_in_with_pin(page, "9999")
        if attempt < 2:
            expect(page.locator("#state-failed")).to_be_visible(timeout=30_000)
            page.locator("#retry-button").click()
    refusal = page.locator("#refusal")
    expect(refusal).to_have_attribute("data-reason", "pin_locked", timeout=30_000)
    expect(page.locator("main")).to_contain_text("市区町村の窓口")
    snap(page, "pin-locked")
    axe(page)


def test_a_card_that_is_not_a_my_number_card_is_explained(
    page: Page,
    bank_card: None,  # noqa: F811
    template_state,
    tmp_path: Path,
):
    """A bank card (no JPKI application) in the reader: the page says it is not a My Number Card."""
    state, _card_id = template_state
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    bridge = BridgeProcess.start("--reader", READER, "--allow-origin", origin, pin_stdin=False)
    try:
        with running_idp(state, tmp_path, f"http://127.0.0.1:{bridge.port}", port) as idp:
            idp.start_login(page)
            not_jpki = page.locator("#state-not_jpki_card")
            expect(not_jpki).to_be_visible(timeout=15_000)
            expect(not_jpki).to_contain_text("マイナンバーカードではありません")
            snap(page, "not-jpki-card")
            axe(page)
            assert_keyboard_reachable(page)
    finally:
        bridge.stop()
