"""Push delivery (RFC 8935): a courier thread POSTs each owed SET to its receiver, with retries.

The outbox is in the database, so a restart or a crash loses nothing and any IdP process may
deliver: a row is claimed by moving its ``next_attempt_at`` forward atomically, as logout
deliveries are (``idp.oidc.backchannel``). A SET is delivered when the receiver answers 202
(§2.2; any 2xx is taken as success). A 400 with an error code (§2.3) is the receiver refusing that
SET: it is not sent again (kept as ``last_error``), except ``invalid_key``, which a receiver that
has not yet fetched a new signing key says, and which is retried. Anything else (no answer, 401,
5xx, an address the IdP must not reach) is retried after ``RETRY_DELAYS``, then hourly, until the
event expires. No request waits for a push: callers only ``wake`` the courier.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy import delete, select, update

from ..oidc import client_urls
from ..oidc.sealing import Sealer
from ..storage import outages
from ..storage.db import db
from ..storage.streams import SignalEvent, SignalStream
from .sets import MEDIA_TYPE, sign
from .streams import PUSH

RETRY_DELAYS: Sequence[int] = (5, 30, 120, 600, 1800)
"""Seconds before each retry after a failed push; every later retry waits ``LAST_DELAY``."""
LAST_DELAY = 3600
LEASE = 30
"""Seconds a process owns a claimed event before another may try it."""
POLL = 5.0
BATCH = 100
RETRIED_ERRORS = ("invalid_key",)

log = logging.getLogger(__name__)


def deliver_due(services, now: int) -> int:
    """Push every event due at ``now`` that this process can claim; return how many were tried.
    Drops expired events first. ``services``: the provider's shared services."""
    db.session.execute(delete(SignalEvent).where(SignalEvent.expires_at <= now))
    db.session.commit()
    due = db.session.execute(
        select(SignalEvent, SignalStream)
        .join(SignalStream, SignalStream.stream_id == SignalEvent.stream_id)
        .where(
            SignalStream.delivery_method == PUSH,
            SignalStream.status == "enabled",
            SignalEvent.acked_at.is_(None),
            SignalEvent.next_attempt_at <= now,
        )
        .order_by(SignalEvent.id)
        .limit(BATCH)
    ).all()
    tried = 0
    for row, stream in due:
        claimed = db.session.execute(
            update(SignalEvent)
            .where(SignalEvent.id == row.id, SignalEvent.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=now + LEASE)
        )
        db.session.commit()
        if claimed.rowcount != 1:
            continue  # another process has it
        _settle(row, *_push(services, stream, row), now)
        tried += 1
    return tried


def _push(services, stream: SignalStream, row: SignalEvent) -> tuple[bool, bool, str | None]:
    """(delivered, final, error): one attempt."""
    config = services.config
    headers = {"Content-Type": MEDIA_TYPE, "Accept": "application/json"}
    if stream.sealed_authorization:
        opened = Sealer(config.secret_key).open(stream.sealed_authorization, stream.stream_id)
        headers["Authorization"] = opened.decode()
    token = sign(services, stream.client_id, row.claims)
    try:
        status, body = client_urls.post(
            stream.endpoint_url or "", token.encode(), headers, config.client_urls.allow_loopback
        )
    except client_urls.ClientUrlError as e:
        return False, False, f"unreachable: {e}"
    if 200 <= status < 300:
        return True, True, None
    error = _error_code(body) if status == 400 else None
    if error is not None and error not in RETRIED_ERRORS:
        return False, True, error
    return False, False, f"HTTP {status}" + (f" {error}" if error else "")


def _error_code(body: bytes) -> str | None:
    """The ``err`` of a RFC 8935 §2.3 error answer, if it is one."""
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        found = json.loads(body)
        if isinstance(found, dict) and isinstance(found.get("err"), str):
            return found["err"][:100]
    return None


def _settle(row: SignalEvent, delivered: bool, final: bool, error: str | None, now: int) -> None:
    row.attempts += 1
    row.last_error = error
    if final:
        row.acked_at = now
        if not delivered:
            log.warning("SET %s refused by its receiver: %s", row.jti, error)
    else:
        delays = RETRY_DELAYS
        row.next_attempt_at = now + (
            delays[row.attempts - 1] if row.attempts <= len(delays) else LAST_DELAY
        )
        log.warning("SET %s push failed (%s); attempt %d", row.jti, error, row.attempts)
    db.session.commit()


class Courier:
    """The push thread of one IdP process; ``wake`` after writing to the outbox."""

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
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, daemon=True, name="ssf-push")
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Let the thread finish its current round and end (shutdown, tests)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=client_urls.DEADLINE + 1)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(POLL)
            self._wake.clear()
            if self._stopped:
                return
            with self._app.app_context():
                try:
                    while deliver_due(self._services, int(time.time())) >= BATCH:
                        pass
                except Exception as error:
                    if outages.unavailable(error) is None:
                        log.exception("Shared Signals courier failed; will retry")
                    else:
                        log.warning("Shared Signals courier: %s", outages.reason(error))
                    with contextlib.suppress(Exception):
                        db.session.rollback()
