"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): logout tokens, retried delivery.

When an IdP session ends, every client that obtained tokens in it and registered a
``backchannel_logout_uri`` is owed a logout token (§2.4: typ logout+jwt, ``sid`` and the client's
own ``sub``, the back-channel event, no nonce, short ``exp``). What is owed is written to the
database first (``LogoutDelivery``), so a restart loses nothing; a courier thread in every IdP
process delivers due rows, minting a fresh token per attempt, and retries with backoff until the
RP answers 200/204 (§2.8) or the attempts run out. The person's logout never waits for RPs.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Sequence

from joserfc import jwt
from sqlalchemy import update

from ..services import Service
from ..storage import outages
from ..storage.db import db
from ..storage.models import LogoutDelivery
from . import client_urls
from .clients import find_client
from .openid import client_signing_alg

EVENT = "http://schemas.openid.net/event/backchannel-logout"
RETRY_DELAYS: Sequence[int] = (0, 5, 30, 120, 600)
"""Seconds before each attempt, counted from the previous one; then the delivery is dropped."""
LEASE = 30
"""Seconds a process owns a claimed delivery before another may retry it."""
POLL = 5.0
TIMEOUT = client_urls.DEADLINE
LOGOUT_TOKEN_LIFETIME = 120

log = logging.getLogger(__name__)


def logout_token(key, issuer: str, client_id: str, sub: str, sid: str | None) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": client_id,
        "sub": sub,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    header = {"alg": key.alg, "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key, algorithms=[key.alg])


def post(uri: str, token: str, allow_loopback: bool = False) -> bool:
    """One delivery attempt; True when the RP acknowledged (200 or 204). ``UrlRefused`` when
    the URI now leads to an address the IdP must not request (``client_urls``)."""
    try:
        status = client_urls.post_form(uri, {"logout_token": token}, allow_loopback)
    except client_urls.UrlRefused:
        raise
    except client_urls.ClientUrlError as e:
        log.warning("back-channel logout to %s failed: %s", uri, e)
        return False
    if status not in (200, 204):
        log.warning("back-channel logout to %s: HTTP %s", uri, status)
    return status in (200, 204)


def enqueue(client_id: str, uri: str, sub: str, sid: str | None, now: int) -> None:
    db.session.add(
        LogoutDelivery(
            client_id=client_id, uri=uri, sub=sub, sid=sid, next_attempt_at=now + RETRY_DELAYS[0]
        )
    )


def deliver_due(services, now: int) -> int:
    """Attempt every delivery due at ``now`` that this process can claim; return how many."""
    due = (
        db.session.execute(db.select(LogoutDelivery).where(LogoutDelivery.next_attempt_at <= now))
        .scalars()
        .all()
    )
    done = 0
    for row in due:
        claimed = db.session.execute(
            update(LogoutDelivery)
            .where(
                LogoutDelivery.id == row.id, LogoutDelivery.next_attempt_at == row.next_attempt_at
            )
            .values(next_attempt_at=now + LEASE)
        )
        db.session.commit()
        if claimed.rowcount != 1:
            continue  # another process has it
        client = find_client(row.client_id)
        alg = client_signing_alg(client, services.config.keys) if client else None
        key = services.ring().signing_key(alg)  # the client's ID token algorithm (§2.4)
        token = logout_token(key, services.config.issuer, row.client_id, row.sub, row.sid)
        try:
            delivered = post(row.uri, token, services.config.client_urls.allow_loopback)
        except client_urls.UrlRefused as e:
            log.warning("back-channel logout to %s skipped: %s", row.uri, e)
            _drop(row)
        else:
            _settle(row, delivered, now)
        done += 1
    return done


def _settle(row: LogoutDelivery, delivered: bool, now: int) -> None:
    row.attempts += 1
    if delivered or row.attempts >= len(RETRY_DELAYS):
        if not delivered:
            log.warning(
                "back-channel logout to %s dropped after %d attempts", row.uri, row.attempts
            )
        db.session.delete(row)
    else:
        row.next_attempt_at = now + RETRY_DELAYS[row.attempts]
    db.session.commit()


def _drop(row: LogoutDelivery) -> None:
    db.session.delete(row)
    db.session.commit()


class Courier:
    """The delivery thread of one IdP process; ``wake`` after enqueuing for prompt delivery."""

    def __init__(self, app, services) -> None:
        self._app, self._services = app, services
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        """Start the thread if it is not running (cheap enough to call on every request)."""
        if self._thread is None:
            self.wake()

    def wake(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="bcl")
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Let the thread finish its current round and end (shutdown, tests)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 1)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(POLL)
            self._wake.clear()
            if self._stopped:
                return
            with self._app.app_context():
                try:
                    deliver_due(self._services, int(time.time()))
                except Exception as error:
                    if outages.unavailable(error) is None:
                        log.exception("back-channel logout courier failed; will retry")
                    else:  # one line per round while the store is down, no traceback
                        log.warning("back-channel logout courier: %s", outages.reason(error))
                    with contextlib.suppress(Exception):
                        db.session.rollback()


COURIER: Service[Courier] = Service("back-channel logout courier")
"""Delivers the app's owed logout tokens (``idp.oidc``)."""
