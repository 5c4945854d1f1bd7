"""IdP sessions: server-side records in the ephemeral store, their id in the signed cookie.

A session is the ``LoginResult`` of a card login, kept for ``tokens.session`` seconds. Each
account also has an index of the sessions it started, so the citizen can sign out everywhere
(``idp.oidc.logout.end_all_sessions``).
"""

from __future__ import annotations

import dataclasses
import json
import secrets

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
    sid = secrets.token_urlsafe(32)
    store.set("session:" + sid, json.dumps(dataclasses.asdict(login)).encode(), ttl)
    live = [s for s in sessions_of(store, login.account_id) if store.get("session:" + s)]
    store.set(SESSIONS_OF + login.account_id, json.dumps([*live, sid]).encode(), ttl)
    session.clear()  # a new session id after login: no session fixation
    session["sid"] = sid
    return sid


def sessions_of(store, account_id: str) -> list[str]:
    """The ids of the account's IdP sessions started within the session lifetime."""
    raw = store.get(SESSIONS_OF + account_id)
    return json.loads(raw) if raw else []
