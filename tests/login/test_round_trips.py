"""The ephemeral store calls of a card login: on Redis each call is one network
round trip, so each step makes only the calls its guarantees need.

The login transaction has one record, the core's (``login:<id>``): written once by /authorize,
read once by each page, held by the result that logs in and dropped once it has answered (put
back instead if that request fails, e.g. with PostgreSQL down). A new IdP session and its index
entry are one atomic write. The challenge keeps its own single-use take and tombstone.
"""

from __future__ import annotations

import json
import re

import pytest

from idp.services import services
from idp.storage.ephemeral import EPHEMERAL
from tests.login.cards import bridge_result
from tests.login.conftest import CSRF, LoginPage, logged_in

METHODS = ("get", "set", "add", "take", "hold", "release", "drop", "delete", "incr", "counters")
METHODS += ("append", "items", "write")
CHALLENGE = re.compile(r'data-challenge="([^"]+)"')


def _prefix(key: str) -> str:
    """``login:<id>`` → ``login:``; a rate limit's counter → ``limit/<name>/``."""
    if key.startswith("limit/"):
        return "/".join(key.split("/")[:2]) + "/"
    return re.sub(r"[^:]*$", "", key)


@pytest.fixture
def calls(card_app):
    """Every store call as (method, [key prefix, …]), recorded while the test runs."""
    store = services(card_app)[EPHEMERAL]
    recorded: list[tuple[str, list[str]]] = []

    def recording(name, method):
        def call(*args, **kwargs):
            keys = [op.key for op in args] if name in ("write",) else list(args[:1])
            if name == "counters":
                keys = list(args)
            recorded.append((name, [_prefix(key) for key in keys]))
            return method(*args, **kwargs)

        return call

    for name in METHODS:
        setattr(store, name, recording(name, getattr(store, name)))
    yield recorded
    for name in METHODS:
        delattr(store, name)


def test_a_card_login_reads_its_one_transaction_record_once_per_step(rp, world, calls):
    response = rp.authorize()
    assert response.status_code == 303
    assert calls == [("set", ["login:"])]  # no record of the card login's own

    calls.clear()
    path = response.headers["Location"]
    html = rp.http.get(path).get_data(as_text=True)
    challenges = ("incr", ["limit/challenges_per_login/"])  # the page's challenge is counted
    assert calls == [("get", ["login:"]), challenges, ("set", ["jpki:challenge:"])]

    calls.clear()
    page = LoginPage(rp.http, path, CSRF.search(html).group(1), html)
    challenge = CHALLENGE.search(html).group(1)
    assert logged_in(page.post(bridge_result(world.good.certificate, world.good.key, challenge)))
    transaction = [c for c in calls if "login:" in c[1]]
    assert transaction == [("get", ["login:"]), ("hold", ["login:"]), ("drop", ["login:"])]
    failures = ["limit/failed_logins_per_ip/", "limit/failed_logins_per_certificate/"]
    assert calls[1] == ("counters", failures)  # both limits in one round trip
    assert calls[2:4] == [("take", ["jpki:challenge:"]), ("set", ["jpki:challenge-used:"])]
    assert ("write", ["session:", "account-session-list:"]) in calls  # one atomic write
    assert not [c for c in calls if any(k.startswith(("session:", "account-")) for k in c[1])][1:]
    assert not [c for c in calls if any(k.startswith("card-login:") for k in c[1])]


@pytest.mark.parametrize("change", ["no page fields", "a field this release does not know"])
def test_a_transaction_record_of_another_format_is_start_again(card_app, rp, change):
    """A login begun by another release (before the single record, or by a later one with more
    page fields) gets the start again page, never an error or a page for the wrong service."""
    response = rp.authorize()
    path = response.headers["Location"]
    store = services(card_app)[EPHEMERAL]
    key = "login:" + path.split("/")[3]
    record = json.loads(store.get(key))
    if change == "no page fields":
        del record["transaction"]
    else:
        record["transaction"]["shown_later"] = "?"
    store.set(key, json.dumps(record).encode(), 60)
    page = rp.http.get(path)
    assert page.status_code == 400
    assert 'data-reason="transaction_gone"' in page.get_data(as_text=True)
