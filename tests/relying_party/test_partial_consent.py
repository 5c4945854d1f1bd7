"""The citizen may untick optional items at the consent screen: the bank shows only what was
granted, asks the IdP for nothing else, and says truthfully why a self-information read failed
(not granted, permission withdrawn, or the login itself ended)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from joserfc import jwt

from idp.consent.decisions import CONSENT_SCREEN
from idp.oidc.server import SERVER
from idp.services import services
from tests.cardless import approve_all
from tests.relying_party.conftest import apply, fetch_income, session_data

HEADING = re.compile(r'<h1 id="refusal" data-reason="(\w+)">([^<]+)</h1>')
GRANTED = re.compile(r'id="assessment" data-granted="([^"]*)"')


class UntickingScreen:
    """The citizen approves, leaving the given optional items unticked."""

    def __init__(self, *unticked: str) -> None:
        self.unticked = set(unticked)

    def begin(self, request):
        from idp.consent.consenting import finish_consent

        kept = tuple(item for item in request.items if item.id not in self.unticked)
        return finish_consent(request.id, approve_all(dataclasses.replace(request, items=kept)))


@pytest.fixture
def without_household(idp, monkeypatch):
    monkeypatch.setitem(services(idp.app), CONSENT_SCREEN, UntickingScreen("selfinfo:household"))


@pytest.fixture
def without_selfinfo(idp, monkeypatch):
    screen = UntickingScreen("selfinfo:household", "selfinfo:income")
    monkeypatch.setitem(services(idp.app), CONSENT_SCREEN, screen)


def test_an_unticked_household_is_neither_claimed_nor_asked_for(browser, bank, without_household):
    page = apply(browser, bank)
    assert page.status_code == 200, page.text
    assert GRANTED.search(page.text).group(1) == "income"
    assert "所得と世帯の情報の読み取りに同意いただきました" not in page.text
    assert "世帯情報は許可されていません" in _text_of(page.text, "granted-text")
    assert session_data(bank, browser)["login"]["scope"].split() == ["openid", "selfinfo:income"]

    read = fetch_income(browser, bank, page)
    assert read.status_code == 200, read.text
    assert set(session_data(bank, browser)["selfinfo"]) == {"income"}  # household never asked
    assert 'id="income-total">6,000,000円<' in read.text
    assert 'id="household-not-shared"' in read.text
    assert 'id="assumed-household"' in read.text
    # No dependants counted: 35% of 6,000,000 / 12 = 175,000 a month; at 3% over 35 years.
    assert "最大45,400,000円" in read.text
    assert 'id="sign-button"' in read.text


def test_nothing_granted_offers_no_read_and_asks_for_nothing(browser, bank, without_selfinfo):
    page = apply(browser, bank)
    assert GRANTED.search(page.text).group(1) == ""
    assert 'id="nothing-granted"' in page.text
    assert 'id="income-button"' not in page.text
    refused = fetch_income(browser, bank, page)
    assert refused.status_code == 403
    assert HEADING.search(refused.text).group(1) == "not_granted"
    assert "selfinfo" not in session_data(bank, browser)


def test_a_scope_the_token_lacks_is_called_not_granted_not_withdrawn(
    browser, bank, without_household
):
    """Had the bank believed it was granted the household, the IdP's insufficient_scope would
    be reported as "you did not allow it", never as a withdrawal."""
    page = apply(browser, bank)
    session_data(bank, browser)["login"]["scope"] = "openid selfinfo:income selfinfo:household"
    refused = fetch_income(browser, bank, page)
    assert refused.status_code == 403
    assert HEADING.search(refused.text).group(1) == "not_granted"
    assert "insufficient_scope" in refused.text
    assert "selfinfo" not in session_data(bank, browser)


def test_a_login_the_idp_forgot_says_log_in_again_not_withdrawn(browser, bank, idp):
    """After an IdP restart (or a logout there) the access token is unknown: invalid_token,
    which is the login ending, not the citizen withdrawing a permission."""
    from idp.oidc.tokens import grant_key

    page = apply(browser, bank)
    access_token = session_data(bank, browser)["login"]["access_token"]
    jti = jwt.decode(access_token, _any_key(idp), algorithms=["ES256", "PS256"]).claims["jti"]
    with idp.app.app_context():
        services(idp.app)[SERVER].services.store().delete(grant_key(jti))
    refused = fetch_income(browser, bank, page)
    assert refused.status_code == 401
    assert HEADING.search(refused.text).group(1) == "login_expired"
    assert "取り消し" not in HEADING.search(refused.text).group(2)
    assert "selfinfo" not in session_data(bank, browser)
    english = browser.get(bank.url + "/refused/login_expired", params={"lang": "en"})
    assert HEADING.search(english.text).group(2) == "Your My Number Card login has ended"


def test_an_expired_access_token_is_not_even_sent(browser, bank):
    page = apply(browser, bank)
    login = session_data(bank, browser)["login"]
    login["received_at"] -= login["expires_in"] + 1
    login["access_token"] = "not-sent"  # noqa: S105 - would be invalid_token if it were sent
    refused = fetch_income(browser, bank, page)
    assert refused.status_code == 401
    assert HEADING.search(refused.text).group(1) == "login_expired"


def _any_key(idp):
    with idp.app.app_context():
        return services(idp.app)[SERVER].services.ring().public_keys()


def _text_of(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[html.index(">", start) + 1 : html.index("</", start)]
