"""Contract signing in Debian's Chromium, end to end: a bank submits a document, the
citizen opens the review URL, logs in with the card (the IdP's own login), reviews and signs with
the signing PIN on the real bridge's page, and lands back at the bank; the bank gets a CMS that
verifies. A wrong signing PIN leaves the document unsigned and can be retried; a PIN locked on
the bridge's page ends on the IdP's page saying where to get it reset. axe-core on every page.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from idp.config import LoginConfig
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from idp.oidc.server import SERVER
from idp.services import services
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN, InsertedCard, insert_card
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, focused, snap, zoom
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving

pytestmark = pytest.mark.pcsc
CONTRACT = "住宅ローン金銭消費貸借契約書 借入額 30,000,000 円 期間 35 年".encode()
TITLE = "住宅ローン金銭消費貸借契約書"
BANK_PAGE = b"<!doctype html><html lang='en'><title>Sample Bank</title><main><h1>Sample Bank</h1>"


class _BankPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(BANK_PAGE)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def bank_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BankPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/contracts/done"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Setting:
    url: str
    app: object
    client_id: str
    secret: str
    callback: str
    sub: str
    card: InsertedCard

    def submit(self) -> dict:
        raw = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        body = {
            "sub": self.sub, "title": TITLE, "summary": "借入額 3,000万円、期間 35年。",
            "digest": base64.urlsafe_b64encode(hashlib.sha256(CONTRACT).digest()).rstrip(b"=")
            .decode(), "redirect_uri": self.callback, "state": "e2e-state",
        }  # fmt: skip
        response = self.app.test_client().post(
            "/documents", json=body, headers={"Authorization": "Basic " + raw}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json

    def status(self, document_id: str) -> dict:
        raw = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        response = self.app.test_client().get(
            f"/documents/{document_id}", headers={"Authorization": "Basic " + raw}
        )
        return response.json


def _bind_card(state: SandboxState, card_id: str) -> str:
    """The citizen already has an account at the IdP, bound to the card's login certificate."""
    from idp.storage.accounts import Account, CertificateBinding
    from idp.storage.db import db

    certificate = state.certificate(card_id, CertKind.AUTH)
    account_id = "e2e-citizen-" + card_id[:8]
    db.session.add(Account(id=account_id))
    db.session.add(
        CertificateBinding(
            account_id=account_id,
            issuer_hash=hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
            serial=f"{certificate.serial_number:X}",
            not_after=int(certificate.not_valid_after_utc.timestamp()),
        )
    )
    db.session.commit()
    return account_id


@pytest.fixture
def sign_tries() -> int:
    return 5


@pytest.fixture
def setting(sandbox, reader_lock, sign_tries: int, tmp_path: Path) -> Iterator[Setting]:
    """The IdP on a free port with card login and document signing, the bridge allowing it, the
    card in Virtual PCD 00 01 with ``sign_tries`` signing-PIN tries left, and a bank."""
    from idp.oidc.clients import register_client
    from tests.conftest import drop_schema, idp_test_config, make_app

    state, card_id = sandbox
    record = state.card(card_id)
    record.tries_left[CertKind.SIGN] = sign_tries
    state.save_card(record)
    compile_catalogues()
    port = free_port()
    with (
        insert_card(state, card_id) as card,
        running_server(state, port=0) as responder,
        bank_site() as callback,
    ):
        bridge = BridgeProcess.start(
            "--reader", card.reader, "--pin-timeout", "30",
            "--allow-origin", f"http://127.0.0.1:{port}", pin_stdin=False,
        )  # fmt: skip
        jpki = JpkiSettings(
            trust_anchors={kind: state.trust_dir(CertKind(kind.value)) for kind in CertificateType},
            allow_test_roots=True,
            ocsp_urls={kind: responder.ocsp_url(CertKind(kind.value)) for kind in CertificateType},
            revocation=dict.fromkeys(CertificateType, RevocationPolicy.OCSP),
            crl_index_dir=tmp_path / "crl-index",
        )
        config = idp_test_config(
            f"sqlite:///{tmp_path}/idp.sqlite3",
            issuer=f"http://127.0.0.1:{port}",
            jpki=jpki,
            login=LoginConfig(bridge_url=f"http://127.0.0.1:{bridge.port}"),
        )
        app = make_app(config, tmp_path / "instance")
        try:
            with app.app_context():
                client, secret = register_client("Sample Bank", [callback], "client_secret_basic")
                account_id = _bind_card(state, card_id)
                subjects = services(app)[SERVER].services.subjects
                sub = subjects.for_client(account_id, client)
                client_id = client.client_id
            with serving(app, port) as url:
                yield Setting(url, app, client_id, secret, callback, sub, card)
        finally:
            bridge.stop()
            drop_schema(app)


def type_pin_in_bridge_window(page: Page, button: str, pin: str, same_code: bool = False,
                              sign_pin: str | None = None) -> Page:  # fmt: skip
    """Keyboard only: focus ``button``, Enter; the PIN in the bridge's window, Enter.

    ``same_code``: first check that the bridge's window shows the review page's check code.
    ``sign_pin``: a document, signed with both keys (bridge-protocol.md §9): the PIN,
    Tab, the signing password, Enter."""
    control = page.locator(button)
    expect(control).to_be_visible(timeout=15_000)
    expect(control).to_be_enabled(timeout=15_000)
    control.focus()
    assert focused(page).key.startswith("button" + button)
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    pin_page = opened.value
    expect(pin_page.locator("#pin")).to_be_visible()
    snap(pin_page, "bridge-pin")
    if same_code:
        code = page.locator("#check-code").text_content()
        assert code is not None
        assert len(code) == 19
        expect(pin_page.locator("body")).to_contain_text(code)
    if sign_pin is not None:  # both keys: the page says why both are asked for
        expect(pin_page.locator("#pair-explained")).to_be_visible()
        axe(pin_page)
    pin_page.keyboard.type(pin)
    if sign_pin is not None:
        expect(pin_page.locator("#signing-password")).to_be_visible()
        pin_page.keyboard.press("Tab")
        pin_page.keyboard.type(sign_pin)
    pin_page.keyboard.press("Enter")
    return pin_page


LOGIN_HEADING = {"ja": "マイナンバーカードでログイン", "en": "Log in with your My Number Card"}
REVIEW_HEADING = {"ja": "文書を確認して署名する", "en": "Review and sign a document"}


def open_review_logged_in(page: Page, setting: Setting, language: str = "ja") -> dict:
    """The bank's link, the IdP's own card login (PIN 1234), back at the review page; the
    pages in ``language``, the browser's (Accept-Language)."""
    answer = setting.submit()
    page.goto(answer["review_url"])
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text(LOGIN_HEADING[language])
    type_pin_in_bridge_window(page, "#login-button", AUTH_PIN)
    page.wait_for_url(answer["review_url"], timeout=30_000)
    expect(page.locator("h1")).to_have_text(REVIEW_HEADING[language])
    return answer


def test_a_citizen_reviews_and_signs_and_the_bank_gets_the_signature(page: Page, setting):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    answer = open_review_logged_in(page, setting)
    expect(page.locator("#document-title")).to_have_text(TITLE)
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    snap(page, "review")
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    zoom(page, 100)
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, same_code=True, sign_pin=SIGN_PIN)
    page.wait_for_url(lambda url: url.startswith(setting.callback + "?"), timeout=30_000)
    assert f"document_id={answer['document_id']}" in page.url
    assert "state=e2e-state" in page.url
    assert "error=" not in page.url
    status = setting.status(answer["document_id"])
    assert status["status"] == "signed"
    assert "BEGIN CERTIFICATE" in status["signer_certificate"]
    assert problems == []


@pytest.mark.parametrize("locale", ["en-US"])
def test_a_wrong_signing_pin_signs_nothing_and_can_be_retried(page: Page, setting, locale):
    answer = open_review_logged_in(page, setting, "en")  # the browser's English
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, sign_pin="WRONG1")
    expect(page.locator("#state-failed")).to_be_visible(timeout=30_000)
    expect(page.locator("#failed-detail")).to_contain_text("4")  # tries left, as the card says
    expect(page.locator("#failed-detail")).to_contain_text("signing password")
    snap(page, "wrong-pin")
    axe(page)
    assert setting.status(answer["document_id"])["status"] == "pending"
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, sign_pin=SIGN_PIN)
    page.wait_for_url(lambda url: url.startswith(setting.callback + "?"), timeout=30_000)
    assert setting.status(answer["document_id"])["status"] == "signed"


@pytest.mark.parametrize("sign_tries", [1])
def test_a_signing_pin_locked_on_the_bridges_page_ends_on_the_locked_page(page: Page, setting):
    answer = open_review_logged_in(page, setting)
    type_pin_in_bridge_window(page, "#sign-button", AUTH_PIN, sign_pin="WRONG1")
    page.wait_for_url(f"{setting.url}/documents/{answer['document_id']}/locked", timeout=30_000)
    expect(page.locator("h1")).to_have_text("署名用パスワードがロックされています")
    expect(page.locator("main")).to_contain_text("市区町村の窓口")
    snap(page, "pin-locked")
    axe(page)
    assert_keyboard_reachable(page)
    assert setting.status(answer["document_id"])["status"] == "pending"


RATE_LIMITED = {
    "ja-JP": "この文書への署名の試行が多すぎます。数分待ってから、もう一度お試しください。",
    "en-US": "Too many signing attempts for this document. Wait a few minutes and try again.",
}


@pytest.mark.parametrize("locale", list(RATE_LIMITED))
def test_too_many_signing_attempts_show_a_message_and_the_page_stays_usable(
    page: Page, setting, locale
):
    """The IdP's limit on prepare (10 per document per 10 minutes), met by this browser's own
    earlier attempts: the page says to wait, nothing is signed, and declining still works."""
    from idp.config import LimitsConfig, parse_rate_limit

    prepare_limit = parse_rate_limit(LimitsConfig().prepares_per_document).amount

    message = RATE_LIMITED[locale]
    answer = open_review_logged_in(page, setting, locale.split("-")[0])
    expect(page.locator("#state-ready")).to_be_visible(timeout=15_000)
    statuses = page.evaluate(
        """async (times) => {
            const main = document.getElementById("main");
            const statuses = [];
            for (let i = 0; i < times; i++) {
                const response = await fetch(main.dataset.prepareUrl, {method: "POST",
                    headers: {"X-CSRF-Token": main.dataset.csrf}, credentials: "same-origin"});
                statuses.push(response.status);
            }
            return statuses;
        }""",
        prepare_limit,
    )
    assert statuses == [200] * prepare_limit
    page.locator("#sign-button").click()
    expect(page.locator("#state-failed")).to_be_visible(timeout=15_000)
    expect(page.locator("#failed-detail")).to_have_text(message)
    expect(page.locator("#announce")).to_contain_text(message)
    expect(page.locator("#sign-button")).to_be_enabled()
    snap(page, "rate-limited")
    axe(page)
    assert_keyboard_reachable(page)
    assert setting.status(answer["document_id"])["status"] == "pending"
    page.locator("#decline-button").click()
    page.wait_for_url(lambda url: url.startswith(setting.callback + "?"), timeout=30_000)
    assert "error=access_denied" in page.url
    assert setting.status(answer["document_id"])["status"] == "declined"
