"""/authorize during a PostgreSQL outage has not used up the pushed request (request_uri) nor the
login transaction it carries on: after recovery the same request_uri, the same login, works.
Still single use: once carried on, or of racing uses, exactly one proceeds."""

from __future__ import annotations

import threading
import time

import pytest

from idp.oidc.authenticator import AUTHENTICATOR
from idp.services import services
from tests.oidc.rp import query
from tests.outages.test_unavailable import assert_page_503

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _pushed(rp) -> str:
    response = rp.push()
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["request_uri"]


def _front(http, rp, request_uri):
    params = {"client_id": rp.client_id, "request_uri": request_uri}
    return http.get("/authorize", query_string=params, headers=BROWSER)


def assert_used_up(response) -> None:
    """The page a person sees for a request_uri that is unknown or used."""
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "invalid_request_uri" in response.get_data(as_text=True)


def _signed_in(rp) -> None:
    """The citizen (``rp.http``) signed in: /authorize asks PostgreSQL about consent at once."""
    assert rp.token(rp.login_code()).status_code == 200


def test_a_request_uri_used_during_an_outage_works_after_it(outage_app, database, rp):
    proxy, _ = database
    _signed_in(rp)
    request_uri = _pushed(rp)
    proxy.cut()
    assert_page_503(_front(rp.http, rp, request_uri))
    proxy.mend()
    front = _front(rp.http, rp, request_uri)
    assert front.status_code == 302, front.get_data(as_text=True)
    assert rp.token(query(front.headers["Location"])["code"]).status_code == 200
    replay = _front(rp.http, rp, request_uri)
    assert_used_up(replay)


@pytest.mark.parametrize("released_before", [False, True])
def test_racing_uses_of_one_request_uri_one_proceeds(outage_app, database, rp, released_before):
    proxy, _ = database
    _signed_in(rp)
    request_uri = _pushed(rp)
    if released_before:  # put back after the outage: still one winner
        proxy.cut()
        assert _front(rp.http, rp, request_uri).status_code == 503
        proxy.mend()
    start = threading.Barrier(6)
    answers: list[int] = []

    def use() -> None:
        browser = outage_app.test_client()
        start.wait()
        answers.append(_front(browser, rp, request_uri).status_code)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [302, 400, 400, 400, 400, 400]


class WaitingAuthenticator:
    """A login page that waits: the test finishes the login itself."""

    def __init__(self) -> None:
        self.started: list = []

    def begin(self, transaction):
        self.started.append(transaction)
        return "the login page", 200


def test_a_login_finished_during_an_outage_can_finish_again(outage_app, database, rp):
    from werkzeug.exceptions import BadRequest

    from idp.oidc.authenticator import AMR_CARD, LoginResult
    from idp.oidc.authorize import finish_login
    from idp.storage import outages
    from idp.storage.accounts import Account
    from idp.storage.db import db
    from tests.cardless import TEST_CLAIMS

    proxy, _ = database
    waiting = WaitingAuthenticator()
    services(outage_app)[AUTHENTICATOR] = waiting
    request_uri = _pushed(rp)
    browser = outage_app.test_client()
    assert _front(browser, rp, request_uri).status_code == 200
    (transaction,) = waiting.started
    cookie = {"Cookie": "session=" + browser.get_cookie("session").value}
    with outage_app.app_context():
        db.session.add(Account(id="citizen-8"))
        db.session.commit()
    login = LoginResult("citizen-8", transaction.acr, int(time.time()), AMR_CARD, TEST_CLAIMS)

    proxy.cut()
    with outage_app.test_request_context(headers=cookie), pytest.raises(outages.DATABASE) as failed:
        finish_login(transaction.id, login)
    assert outages.unavailable(failed.value) == "database", failed.value
    proxy.mend()
    with outage_app.test_request_context(headers=cookie):
        finished = finish_login(transaction.id, login)
    assert finished.status_code == 302, finished.get_data(as_text=True)
    assert rp.token(query(finished.headers["Location"])["code"]).status_code == 200
    with outage_app.test_request_context(headers=cookie), pytest.raises(BadRequest):
        finish_login(transaction.id, login)  # finished once: the transaction is gone
    replay = _front(browser, rp, request_uri)  # carried on by the login: used up
    assert_used_up(replay)
