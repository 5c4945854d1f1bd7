"""A request whose database commit fails has not used up its single-use records: the citizen can
give the same approval again, the client can present the same code again. Racing requests still
get one answer: two redemptions of one code, one token."""

from __future__ import annotations

import re
import threading

import pytest

from idp.consent.decisions import CONSENT_SCREEN
from idp.services import services
from tests.oidc.rp import query

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ITEM = re.compile(r'<input type="(?:checkbox|hidden)" name="item" value="([^"]+)"')


def test_a_code_whose_token_commit_failed_can_be_presented_again(outage_app, database, rp):
    proxy, _ = database
    code = rp.login_code()
    proxy.cut()
    failed = rp.token(code)
    assert failed.status_code == 503, failed.get_data(as_text=True)
    proxy.mend()
    tokens = rp.token(code)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.json["access_token"]
    replay = rp.token(code)
    assert replay.json["error"] == "invalid_grant"  # still single use once redeemed


def test_a_refused_code_stays_burnt(rp):
    code = rp.login_code()
    assert rp.token(code, code_verifier="x" * 43).json["error"] == "invalid_grant"
    assert rp.token(code).json["error"] == "invalid_grant"


@pytest.mark.parametrize("released_before", [False, True])
def test_two_racing_redemptions_of_one_code_yield_one_token(
    outage_app, database, rp, released_before
):
    proxy, _ = database
    code = rp.login_code()
    if released_before:  # the code went back after a failed commit: still one winner
        proxy.cut()
        assert rp.token(code).status_code == 503
        proxy.mend()
    start = threading.Barrier(6)
    answers: list[int] = []

    def redeem() -> None:
        racer = rp.__class__(outage_app.test_client(), rp.client_id, rp.redirect_uri, rp.secret)
        racer.verifier = rp.verifier
        start.wait()
        answers.append(racer.token(code).status_code)

    threads = [threading.Thread(target=redeem) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 400, 400, 400, 400, 400]


def _consent_page(outage_app, rp):
    """The real consent screen (not the cardless one) after a cardless login: (browser, its
    path, the form that approves every item)."""
    from idp.consent import ConsentScreen

    services(outage_app)[CONSENT_SCREEN] = ConsentScreen()
    browser = outage_app.test_client()
    rp.http = browser
    started = browser.get(
        "/authorize", query_string=rp.authorization_params(login_hint="citizen-7"), headers=BROWSER
    )
    assert started.status_code == 303, started.get_data(as_text=True)
    path = started.headers["Location"]
    page = browser.get(path, headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    approve = {"action": "approve", "item": ITEM.findall(html), "csrf_token": CSRF.search(html)[1]}
    assert approve["item"]
    return browser, path, approve


def test_an_approval_whose_commit_failed_can_be_given_again(outage_app, database, rp):
    proxy, _ = database
    browser, path, approve = _consent_page(outage_app, rp)
    proxy.cut()
    failed = browser.post(path, data=approve, headers=BROWSER)
    assert failed.status_code == 503, failed.get_data(as_text=True)
    assert "一時的にご利用いただけません" in failed.get_data(as_text=True)
    proxy.mend()
    again = browser.post(path, data=approve, headers=BROWSER)
    assert again.status_code == 302, again.get_data(as_text=True)
    code = query(again.headers["Location"])["code"]
    assert rp.token(code).status_code == 200
    answered = browser.post(path, data=approve, headers=BROWSER)
    assert answered.status_code != 302  # answered once: the request is gone


def test_racing_approvals_record_one_consent(outage_app, rp):
    from idp.storage.consents import Consent

    browser, path, approve = _consent_page(outage_app, rp)
    start = threading.Barrier(4)
    answers: list[int] = []

    def post() -> None:
        racer = outage_app.test_client()  # the same browser, four tabs
        racer.set_cookie("session", browser.get_cookie("session").value)
        start.wait()
        answers.append(racer.post(path, data=approve, headers=BROWSER).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(302) == 1, answers
    with outage_app.app_context():
        assert Consent.query.count() == 1
