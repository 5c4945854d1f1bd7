"""IdP sessions: server-side records in the ephemeral store, their id in the signed cookie.

A session is the ``LoginResult`` of a card login, kept for ``tokens.session`` seconds. Each
account also has an index of the sessions it started, so the citizen can sign out everywhere
(``idp.oidc.logout.end_all_sessions``). The index keeps each session's expiry and is pruned by
time, so a login reads it once and writes it once, however many sessions the account has (it
used to read every listed session back: one store round trip per session started in the last
``tokens.session`` seconds, on every login). A session that ended early stays listed until its
expiry; whoever uses the index checks that each session still exists.
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
import time

from flask import session

from .authenticator import LoginResult

SESSIONS_OF = "account-sessions:"


def current_login(store, now: float) -> tuple[str, LoginResult] | None:
    """The IdP session of this browser, if any."""
    sid = session.get("sid")
    raw = store.get("session:" + sid) if isinstance(sid, str) else None
    if raw is None:
        return None
    data = json.loads(raw)
    login = LoginResult(**{**data, "amr": tuple(data["amr"])})
    return (sid, login) if login.auth_time <= now else None


def start_session(store, login: LoginResult, ttl: float) -> str:
    sid, now = secrets.token_urlsafe(32), time.time()
    store.set("session:" + sid, json.dumps(dataclasses.asdict(login)).encode(), ttl)
    listed = [[s, expires] for s, expires in _index(store, login.account_id, now, now + ttl)]
    index = [*listed, [sid, now + ttl]]
    store.set(SESSIONS_OF + login.account_id, json.dumps(index).encode(), ttl)
    session.clear()  # a new session id after login: no session fixation
    session["sid"] = sid
    return sid


def sessions_of(store, account_id: str) -> list[str]:
    """The ids of the account's IdP sessions started within the session lifetime (some may
    have ended since: check ``session:<id>``)."""
    return [sid for sid, _ in _index(store, account_id, time.time(), math.inf)]


def _index(store, account_id: str, now: float, bare: float) -> list[tuple[str, float]]:
    """(session id, expiry) of the account's listed sessions that have not expired.

    Entries written before expiries were kept are bare ids; they are given the expiry ``bare``
    (a new login: one session lifetime from now, after which they leave the index by
    themselves).
    """
    raw = store.get(SESSIONS_OF + account_id)
    entries = json.loads(raw) if raw else []
    pairs = [(e, bare) if isinstance(e, str) else (str(e[0]), float(e[1])) for e in entries]
    return [(sid, expires) for sid, expires in pairs if expires > now]
