"""Poll delivery (RFC 8936): the receiver acknowledges what it processed and asks for more.

A poll first settles the ``ack`` and ``setErrs`` it carries (§2.4.2, §2.4.4: either way the SET
is delivered and not offered again; a refusal is kept as the event's ``last_error`` for the
operator), then returns up to ``maxEvents`` SETs still owed, oldest first, with
``moreAvailable``. A SET stays owed, and is offered again at every poll, until it is
acknowledged or expires (the retention). With ``returnImmediately`` false and nothing owed, the
answer waits up to ``LONG_POLL`` seconds for an event (§2.4.1: a long poll, bounded).
"""

from __future__ import annotations

import time

from sqlalchemy import select, update

from ..storage.db import db
from ..storage.streams import SignalEvent, SignalStream
from .management import bad
from .sets import sign

DEFAULT_MAX_EVENTS = 25
MAX_EVENTS = 100
MAX_ACKS = 1000
LONG_POLL = 5.0
LONG_POLL_STEP = 0.25


def poll(services, stream: SignalStream, body: dict) -> dict:
    """The answer to one poll request (``services``: the provider's shared services)."""
    acks, errors, wanted, at_once = _request(body)
    now = int(time.time())
    _settle(stream.stream_id, acks, None, now)
    for jti, error in errors.items():
        _settle(stream.stream_id, [jti], f"{error['err']}: {error.get('description', '')}", now)
    db.session.commit()
    if wanted == 0:
        return {"sets": {}, "moreAvailable": bool(_owed(stream, now, 1))}
    deadline = time.monotonic() + (0 if at_once else LONG_POLL)
    while not (rows := _owed(stream, now, wanted + 1)) and time.monotonic() < deadline:
        time.sleep(LONG_POLL_STEP)
        db.session.rollback()  # see what other transactions committed meanwhile
        now = int(time.time())
    sets = {row.jti: sign(services, stream.client_id, row.claims) for row in rows[:wanted]}
    return {"sets": sets, "moreAvailable": len(rows) > wanted}


def _request(body: dict) -> tuple[list[str], dict[str, dict], int, bool]:
    """(ack, setErrs, maxEvents, returnImmediately), checked (§2.4: 400 ``invalid_request``)."""
    acks = body.get("ack", [])
    if not isinstance(acks, list) or len(acks) > MAX_ACKS:
        raise bad("ack must be a list of jti values")
    if not all(isinstance(jti, str) and 0 < len(jti) <= 64 for jti in acks):
        raise bad("ack must be a list of jti values")
    errors = body.get("setErrs", {})
    if not isinstance(errors, dict) or len(errors) > MAX_ACKS:
        raise bad("setErrs must be an object of jti to {err, description}")
    for jti, error in errors.items():
        if not (
            0 < len(jti) <= 64 and isinstance(error, dict) and isinstance(error.get("err"), str)
        ):
            raise bad("setErrs must be an object of jti to {err, description}")
    wanted = body.get("maxEvents", DEFAULT_MAX_EVENTS)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 0:
        raise bad("maxEvents must be a non-negative integer")
    at_once = body.get("returnImmediately", False)
    if not isinstance(at_once, bool):
        raise bad("returnImmediately must be a boolean")
    return acks, errors, min(wanted, MAX_EVENTS), at_once


def _settle(stream_id: str, jtis: list[str], error: str | None, now: int) -> None:
    if jtis:
        db.session.execute(
            update(SignalEvent)
            .where(
                SignalEvent.stream_id == stream_id,
                SignalEvent.jti.in_(jtis),
                SignalEvent.acked_at.is_(None),
            )
            .values(acked_at=now, last_error=error[:500] if error else None)
        )


def _owed(stream: SignalStream, now: int, limit: int) -> list[SignalEvent]:
    """Unacknowledged, unexpired events of an enabled stream, oldest first."""
    if stream.status != "enabled":
        return []
    found = (
        select(SignalEvent)
        .where(
            SignalEvent.stream_id == stream.stream_id,
            SignalEvent.acked_at.is_(None),
            SignalEvent.expires_at > now,
        )
        .order_by(SignalEvent.id)
        .limit(limit)
    )
    return list(db.session.scalars(found))
