"""Changes made to cut the login's CPU keep their behaviour (bench/results/flow-profile.md).

Sessions index: a login never reads the account's index (it appends to it atomically, in the
same write as the session: one round trip), and
the index still names every session started within the session lifetime (sign out everywhere
relies on it), including those of concurrent logins.
"""

from __future__ import annotations

import secrets
import threading

import pytest
import redis
from flask import Flask

from idp.oidc import sessions
from idp.oidc.authenticator import ACR_CARD_AUTH, LoginResult
from idp.storage.ephemeral import MemoryStore, RedisStore

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
def test_a_login_reads_nothing_however_many_sessions_exist():
    store = CountingStore()
    started = [sessions.start_session(store, _login(), TTL) for _ in range(50)]
    store.reads.clear()
    newest = sessions.start_session(store, _login(), TTL)
    assert store.reads == []
    assert sessions.sessions_of(store, "acct") == [*started, newest]


class WriteCountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.calls.append("set")
        super().set(key, value, ttl)

    def write(self, *writes) -> None:
        self.calls.append("write")
        super().write(*writes)


@pytest.mark.usefixtures("request_context")
def test_a_session_and_its_index_entry_are_one_write():
    """One round trip on Redis (MULTI … EXEC), and never a session missing from its index."""
    store = WriteCountingStore()
    sid = sessions.start_session(store, _login(), TTL)
    assert store.calls == ["write"]
    assert store.get("session:" + sid) is not None
    assert sessions.sessions_of(store, "acct") == [sid]


def test_concurrent_logins_of_one_account_are_all_listed(redis_url):
    """Sign out everywhere must reach every session: with a read-modify-write index, two
    logins at the same moment could each write the index without the other's session."""
    prefix = f"test:{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(client, prefix)
    app = Flask(__name__)
    app.secret_key = "hot-path-" + "x" * 32
    started: list[str] = []

    def log_in() -> None:
        with app.test_request_context("/"):
            started.append(sessions.start_session(store, _login(), TTL))

    threads = [threading.Thread(target=log_in) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(sessions.sessions_of(store, "acct")) == sorted(started)
    finally:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


@pytest.mark.usefixtures("request_context")
def test_the_index_keeps_the_newest_entries(monkeypatch):
    monkeypatch.setattr(sessions, "MAX_LISTED", 5)
    store = MemoryStore()
    started = [sessions.start_session(store, _login(), TTL) for _ in range(8)]
    assert sessions.sessions_of(store, "acct") == started[-5:]


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
def test_accounts_have_separate_indexes_and_a_new_session_id():
    from flask import session

    store = MemoryStore()
    first = sessions.start_session(store, _login("a"), TTL)
    second = sessions.start_session(store, _login("b"), TTL)
    assert sessions.sessions_of(store, "a") == [first]
    assert sessions.sessions_of(store, "b") == [second]
    assert session["sid"] == second
    assert sessions.current_login(store, 2)[0] == second
