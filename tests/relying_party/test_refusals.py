"""Every way the bank's story can go wrong ends on a friendly page, and changes nothing."""

from __future__ import annotations

import re
import time

import pytest

from examples.relying_party import create_app
from examples.relying_party.settings import BankSettings
from examples.relying_party.web import REFUSALS
from idp.consent.decisions import CONSENT_SCREEN
from idp.services import services
from sandbox.server import free_port
from tests.oidc.live import serving
from tests.relying_party.conftest import apply, fetch_income, session_data

HEADING = re.compile(r'<h1 id="refusal" data-reason="(\w+)">([^<]+)</h1>')


class DenyingScreen:
    """The citizen presses "do not allow" on the consent screen."""

    def begin(self, request):
        from idp.consent.consenting import deny_consent

        return deny_consent(request.id)


def test_consent_denied_at_the_idp_shows_the_access_denied_page(browser, bank, idp, monkeypatch):
    monkeypatch.setitem(services(idp.app), CONSENT_SCREEN, DenyingScreen())
    page = apply(browser, bank)
    assert page.status_code == 403
    assert HEADING.search(page.text).group(1) == "access_denied"
    assert page.url.startswith(bank.url + "/callback?")
    assert "error=access_denied" in page.url
    assert "login" not in session_data(bank, browser)
    assert browser.get(bank.url + "/application").status_code == 401


def test_a_forged_callback_is_refused(browser, bank, idp):
    browser.get(bank.url + "/")
    started = browser.post(bank.url + "/apply", allow_redirects=False)
    assert started.status_code == 303
    state = session_data(bank, browser)["pending"]["state"]
    wrong_issuer = browser.get(
        bank.url + "/callback", params={"code": "x", "state": state, "iss": "https://evil.example"}
    )
    assert wrong_issuer.status_code == 400
    assert HEADING.search(wrong_issuer.text).group(1) == "bad_request"
    assert "invalid_issuer" in wrong_issuer.text
    replayed = browser.get(bank.url + "/callback", params={"code": "x", "state": state})
    assert HEADING.search(replayed.text).group(1) == "session_ended"  # the request is used up
    del idp


def test_a_wrong_state_is_refused(browser, bank, idp):
    browser.get(bank.url + "/")
    browser.post(bank.url + "/apply", allow_redirects=False)
    answer = browser.get(
        bank.url + "/callback", params={"code": "x", "state": "guessed", "iss": idp.url}
    )
    assert answer.status_code == 400
    assert "invalid_state" in answer.text
    assert "login" not in session_data(bank, browser)


def test_the_idp_down_has_its_page(tmp_path, browser):
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = BankSettings(issuer=nobody, base_url="http://127.0.0.1:1", instance=tmp_path)
    settings.instance.mkdir(exist_ok=True)
    settings.client_file.write_text('{"client_id": "registered-elsewhere"}')
    port = free_port()
    with serving(create_app(settings), port) as url:
        browser.get(url + "/")
        page = browser.post(url + "/apply")
    assert page.status_code == 503
    assert HEADING.search(page.text).groups() == (
        "idp_down",
        "マイナンバーカードでのログインが現在利用できません",
    )


def test_an_unregistered_bank_says_so(tmp_path, browser):
    settings = BankSettings(issuer="http://127.0.0.1:1", instance=tmp_path)
    with serving(create_app(settings), free_port()) as url:
        assert 'id="not-registered"' in browser.get(url + "/").text
        page = browser.post(url + "/apply")
    assert HEADING.search(page.text).group(1) == "not_registered"


def test_withdrawn_consent_stops_the_income_read(browser, bank, idp):
    from idp.storage.consents import Consent
    from idp.storage.db import db

    page = apply(browser, bank)
    with idp.app.app_context():
        for consent in db.session.execute(db.select(Consent)).scalars():
            consent.revoked_at = int(time.time())
        db.session.commit()
    refused = fetch_income(browser, bank, page)
    assert refused.status_code == 403
    assert HEADING.search(refused.text).group(1) == "consent_needed"
    assert "selfinfo" not in session_data(bank, browser)


def test_a_post_without_the_csrf_token_is_refused(browser, bank):
    apply(browser, bank)
    answer = browser.post(bank.url + "/application/income", data={"csrf_token": "forged"})
    assert answer.status_code == 400
    assert "selfinfo" not in session_data(bank, browser)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_refusal_page_reads_in_both_languages(browser, bank, lang):
    seen = set()
    for reason, status in REFUSALS.items():
        page = browser.get(f"{bank.url}/refused/{reason}", params={"lang": lang})
        assert page.status_code == status
        found, heading = HEADING.search(page.text).groups()
        assert found == reason
        assert f'<html lang="{lang}">' in page.text
        is_japanese = any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in heading)
        assert is_japanese == (lang == "ja"), heading
        seen.add(heading)
    assert len(seen) == len(REFUSALS)  # each reason says something of its own


def test_backchannel_logout_from_the_idp_ends_the_bank_session(browser, bank, idp):
    """The citizen logs out at the IdP (not at the bank): the IdP's logout token ends the bank's
    session too (OpenID Connect Back-Channel Logout)."""
    page = apply(browser, bank)
    assert page.status_code == 200
    confirm = browser.get(idp.url + "/logout")  # no id_token_hint: the IdP asks first
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', confirm.text))
    ended = browser.post(idp.url + "/logout", data=form)
    assert 'id="logged-out"' in ended.text
    deadline = time.monotonic() + 30
    while session_data(bank, browser) and time.monotonic() < deadline:
        time.sleep(0.2)
    answer = browser.get(bank.url + "/application")
    assert answer.status_code == 401
    assert HEADING.search(answer.text).group(1) == "session_ended"


def test_the_language_switch_of_a_refusal_keeps_the_reason(browser, bank, idp, monkeypatch):
    monkeypatch.setitem(services(idp.app), CONSENT_SCREEN, DenyingScreen())
    page = apply(browser, bank)
    switch = re.search(r'href="([^"]+)"[^>]*id="switch-language"', page.text).group(1)
    english = browser.get(bank.url + switch.replace("&amp;", "&"))
    assert HEADING.search(english.text).groups() == (
        "access_denied",
        "You did not allow the bank to proceed",
    )


SIGNED_IN_ONLY = [
    ("GET", "/application"),
    ("POST", "/application/income"),
    ("GET", "/received"),
    ("POST", "/contract"),
    ("GET", "/contract/signed"),
    ("GET", "/contract"),
    ("GET", "/contract/signed.pdf"),
]


@pytest.mark.parametrize(("method", "path"), SIGNED_IN_ONLY)
def test_every_applicant_page_needs_a_signed_in_session(browser, bank, method, path):
    answer = browser.request(method, bank.url + path, data={"csrf_token": "x"})
    assert answer.status_code == 401
    assert HEADING.search(answer.text).group(1) == "session_ended"


@pytest.mark.parametrize("path", [p for m, p in SIGNED_IN_ONLY if m == "POST"])
def test_every_applicant_post_needs_the_sessions_csrf_token(browser, bank, path):
    apply(browser, bank)
    before = session_data(bank, browser)
    answer = browser.post(bank.url + path, data={"csrf_token": "forged"})
    assert answer.status_code == 400
    assert HEADING.search(answer.text).group(1) == "bad_request"
    assert session_data(bank, browser) == before
