"""Changes made to cut the login's CPU keep their behaviour (bench/results/flow-profile.md).

Sessions index: a login reads the account's index once, never each listed session, and the
index still names every session started within the session lifetime (sign out everywhere
relies on it), including those written before expiries were kept.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask

from idp.oidc import sessions
from idp.oidc.authenticator import ACR_CARD_AUTH, LoginResult
from idp.storage.ephemeral import MemoryStore

TTL = 600


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return super().get(key)


@pytest.fixture
def request_context():
    app = Flask(__name__)
    app.secret_key = "hot-path-" + "x" * 32
    with app.test_request_context("/"):
        yield


def _login(account: str = "acct") -> LoginResult:
    return LoginResult(account_id=account, acr=ACR_CARD_AUTH, auth_time=1)


@pytest.mark.usefixtures("request_context")
def test_a_login_reads_the_index_once_however_many_sessions_exist():
    store = CountingStore()
    started = [sessions.start_session(store, _login(), TTL) for _ in range(50)]
    store.reads.clear()
    newest = sessions.start_session(store, _login(), TTL)
    assert store.reads == [sessions.SESSIONS_OF + "acct"]
    assert sessions.sessions_of(store, "acct") == [*started, newest]


@pytest.mark.usefixtures("request_context")
def test_expired_sessions_leave_the_index(monkeypatch):
    store = MemoryStore()
    clock = [1_000_000.0]
    monkeypatch.setattr(sessions.time, "time", lambda: clock[0])
    old = sessions.start_session(store, _login(), TTL)
    clock[0] += TTL - 1
    kept = sessions.start_session(store, _login(), TTL)
    assert sessions.sessions_of(store, "acct") == [old, kept]
    clock[0] += 2  # old is past its lifetime now
    newest = sessions.start_session(store, _login(), TTL)
    assert sessions.sessions_of(store, "acct") == [kept, newest]


@pytest.mark.usefixtures("request_context")
def test_an_index_of_bare_ids_is_still_read_and_kept():
    store = MemoryStore()
    store.set(sessions.SESSIONS_OF + "acct", json.dumps(["legacy1", "legacy2"]).encode(), TTL)
    assert sessions.sessions_of(store, "acct") == ["legacy1", "legacy2"]
    sid = sessions.start_session(store, _login(), TTL)
    assert sessions.sessions_of(store, "acct") == ["legacy1", "legacy2", sid]


@pytest.mark.usefixtures("request_context")
def test_accounts_have_separate_indexes_and_a_new_session_id():
    from flask import session

    store = MemoryStore()
    first = sessions.start_session(store, _login("a"), TTL)
    second = sessions.start_session(store, _login("b"), TTL)
    assert sessions.sessions_of(store, "a") == [first]
    assert sessions.sessions_of(store, "b") == [second]
    assert session["sid"] == second
    assert sessions.current_login(store, 2)[0] == second
