"""IdP sessions: server-side records in the ephemeral store, their id in the signed cookie.

A session is the ``LoginResult`` of a card login, kept for ``tokens.session`` seconds. Each account
also has an index of the sessions it started, so the citizen can sign out everywhere
(``idp.oidc.logout.end_all_sessions``): a list in the store that each login appends "<session id>
<expiry>" to in one atomic step, with the session itself (``EphemeralStore.write``). A login never
reads it, and two logins of one account at the same moment cannot lose each other's entry, as a
read-modify-write of one value could. Reading it drops expired entries; a session that ended early
stays listed until its expiry, so whoever uses the index checks that each session still exists.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time

from flask import session

from ..services import services as app_services
from ..storage.ephemeral import Append, Put
from ..web import services
from .authenticator import CARD_STANDING, LoginResult

SESSION_LIST = "account-session-list:"
MAX_LISTED = 1000
"""Entries an index keeps (the newest): far more logins than one person makes in a session's
lifetime, and a bound on what repeated logins with one card can make the store hold."""


def current_login(store, now: float) -> tuple[str, LoginResult] | None:
    """The IdP session of this browser, if any. A session whose card was revoked or held since
    the login is over (the card status listener ends it too; this catches one it missed)."""
    sid = session.get("sid")
    raw = store.get("session:" + sid) if isinstance(sid, str) else None
    if raw is None:
        return None
    data = json.loads(raw)
    login = LoginResult(**{**data, "amr": tuple(data["amr"])})
    if login.auth_time > now:
        return None
    if login.certificate and app_services()[CARD_STANDING](login.certificate, login.auth_time):
        store.delete("session:" + sid)
        return None
    return sid, login


def start_session(store, login: LoginResult, ttl: float) -> str:
    """A new IdP session for ``login``: the record and its index entry in one atomic write
    (one round trip), so the index never lacks a session that exists."""
    sid, now = secrets.token_urlsafe(32), time.time()
    store.write(
        Put("session:" + sid, json.dumps(dataclasses.asdict(login)).encode(), ttl),
        Append(SESSION_LIST + login.account_id, f"{sid} {now + ttl!r}".encode(), ttl, MAX_LISTED),
    )
    service = session.get(services.SERVICE)  # where a page that ends leads back: kept
    session.clear()  # a new session id after login: no session fixation
    session["sid"] = sid
    if service is not None:
        session[services.SERVICE] = service
    return sid


def sessions_of(store, account_id: str) -> list[str]:
    """The ids of the account's IdP sessions started within the session lifetime, oldest
    first (some may have ended since: check ``session:<id>``)."""
    now = time.time()
    listed = [_entry(raw) for raw in store.items(SESSION_LIST + account_id)]
    return [sid for sid, expires in listed if expires > now]


def forget_index(store, account_id: str) -> None:
    store.delete(SESSION_LIST + account_id)


def _entry(raw: bytes) -> tuple[str, float]:
    sid, _, expires = raw.decode().partition(" ")
    return sid, float(expires)
