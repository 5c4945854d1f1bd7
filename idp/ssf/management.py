"""Stream management (SSF 1.0 §8.1): one stream per client, read and changed by that client only.

Each function takes the authenticated client's id and the request's JSON and returns the answer
(status, body) or raises ``StreamError`` with the HTTP status SSF 1.0 gives the case: 400 a body
that is not what the section asks, 404 no such stream *of this client* (another client's stream is
not told apart from none), 409 a second stream, 429 a verification asked too often. Nothing is
changed by a refused request.
"""

from __future__ import annotations

import json
import secrets
import time

from sqlalchemy import delete, select

from ..oidc import client_urls
from ..oidc.sealing import Sealer
from ..storage.db import db
from ..storage.streams import RemovedSubject, SignalEvent, SignalStream
from . import events
from .signals import RETENTION
from .streams import POLL, PUSH, delivered_events

STATUSES = ("enabled", "paused", "disabled")
MIN_VERIFICATION_INTERVAL = 5
"""Seconds between two verification requests of one stream (``min_verification_interval``)."""
MAX_EVENTS_REQUESTED = 32
MAX_DESCRIPTION = 500
MAX_AUTHORIZATION = 1024


class StreamError(Exception):
    """A refused management request: its HTTP status, an error code and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def bad(description: str) -> StreamError:
    return StreamError(400, "invalid_request", description)


def configuration(stream: SignalStream, config, poll_url) -> dict:
    """The stream's configuration as SSF 1.0 §8.1.1 shows it."""
    delivery: dict = {"method": stream.delivery_method}
    if stream.delivery_method == PUSH:
        delivery["endpoint_url"] = stream.endpoint_url
        if stream.sealed_authorization:
            delivery["authorization_header"] = (
                _sealer(config).open(stream.sealed_authorization, stream.stream_id).decode()
            )
    else:
        delivery["endpoint_url"] = poll_url(stream.stream_id)
    found = {
        "stream_id": stream.stream_id,
        "iss": config.issuer,
        "aud": stream.client_id,
        "delivery": delivery,
        "events_supported": events.supported(config.issuer),
        "events_requested": json.loads(stream.events_requested),
        "events_delivered": delivered_events(stream, config.issuer),
        "min_verification_interval": MIN_VERIFICATION_INTERVAL,
    }
    if stream.description:
        found["description"] = stream.description
    return found


def own_stream(client_id: str, stream_id: object) -> SignalStream:
    """The client's stream with this id; 404 for none, for another client's, for a bad id."""
    if not isinstance(stream_id, str) or not stream_id or len(stream_id) > 43:
        raise StreamError(404, "not_found", "no stream with this stream_id for this client")
    stream = db.session.get(SignalStream, stream_id)
    if stream is None or stream.client_id != client_id:
        raise StreamError(404, "not_found", "no stream with this stream_id for this client")
    return stream


def client_stream(client_id: str) -> SignalStream | None:
    return db.session.scalar(select(SignalStream).where(SignalStream.client_id == client_id))


def create(client_id: str, body: dict, config) -> SignalStream:
    """§8.1.1.1: 409 when the client has a stream already (one per client)."""
    if client_stream(client_id) is not None:
        raise StreamError(409, "conflict", "this client has a stream; read, update or delete it")
    stream = SignalStream(
        stream_id=secrets.token_urlsafe(24),
        client_id=client_id,
        delivery_method=POLL,
        events_requested="[]",
        status="enabled",
    )
    _apply(stream, body, config, replace=True)
    db.session.add(stream)
    db.session.commit()
    return stream


def update(stream: SignalStream, body: dict, config, replace: bool) -> SignalStream:
    """§8.1.1.3 (PATCH: what the body has) and §8.1.1.4 (PUT: what it lacks is removed)."""
    _check_transmitter_supplied(stream, body, config)
    _apply(stream, body, config, replace=replace)
    stream.updated_at = int(time.time())
    db.session.commit()
    return stream


def remove(stream: SignalStream) -> None:
    """§8.1.1.5: the stream, its subjects and every event it still held."""
    db.session.execute(delete(SignalEvent).where(SignalEvent.stream_id == stream.stream_id))
    db.session.execute(delete(RemovedSubject).where(RemovedSubject.stream_id == stream.stream_id))
    db.session.delete(stream)
    db.session.commit()


def set_status(stream: SignalStream, body: dict) -> dict:
    """§8.1.2.2. Disabling drops what the stream held (§8.1.2.1: a disabled stream holds none)."""
    status, reason = body.get("status"), body.get("reason")
    if status not in STATUSES:
        raise bad(f"status must be one of {', '.join(STATUSES)}")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_DESCRIPTION):
        raise bad(f"reason must be a string of at most {MAX_DESCRIPTION} characters")
    stream.status, stream.status_reason = status, reason
    stream.updated_at = int(time.time())
    if status == "disabled":
        db.session.execute(
            delete(SignalEvent).where(
                SignalEvent.stream_id == stream.stream_id, SignalEvent.acked_at.is_(None)
            )
        )
    db.session.commit()
    return status_of(stream)


def status_of(stream: SignalStream) -> dict:
    found = {"stream_id": stream.stream_id, "status": stream.status}
    if stream.status_reason:
        found["reason"] = stream.status_reason
    return found


def subject_of(body: dict, issuer: str) -> str:
    """The ``sub`` of an ``iss_sub`` subject of this issuer (RFC 9493 §3.2.5): the only subjects
    this transmitter has. 400 for anything else."""
    subject = body.get("subject")
    if not isinstance(subject, dict) or subject.get("format") != "iss_sub":
        raise bad("subject must be an iss_sub subject identifier (RFC 9493)")
    if subject.get("iss") != issuer:
        raise bad("subject iss must be this transmitter's issuer")
    sub = subject.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 64:
        raise bad("subject sub must be the sub this IdP gave you")
    if "verified" in body and not isinstance(body["verified"], bool):
        raise bad("verified must be a boolean")
    return sub


def add_subject(stream: SignalStream, sub: str) -> None:
    """§8.1.3.2. Every subject is in a stream unless removed (``default_subjects`` ALL): adding
    takes a removal back. Unknown subjects are accepted alike, so the answer tells nothing."""
    db.session.execute(
        delete(RemovedSubject).where(
            RemovedSubject.stream_id == stream.stream_id, RemovedSubject.sub == sub
        )
    )
    db.session.commit()


def remove_subject(stream: SignalStream, sub: str) -> None:
    """§8.1.3.3: no events about ``sub`` on this stream until it is added again."""
    if db.session.get(RemovedSubject, (stream.stream_id, sub)) is None:
        db.session.add(RemovedSubject(stream_id=stream.stream_id, sub=sub))
    db.session.commit()


def verify(stream: SignalStream, body: dict, issuer: str) -> None:
    """§8.1.4.2: a verification event with the receiver's ``state``, into the outbox."""
    state = body.get("state")
    if state is not None and (not isinstance(state, str) or len(state) > 1024):
        raise bad("state must be a string of at most 1024 characters")
    now = int(time.time())
    last = db.session.scalar(
        select(SignalEvent.created_at)
        .where(
            SignalEvent.stream_id == stream.stream_id,
            SignalEvent.event_type == events.VERIFICATION,
        )
        .order_by(SignalEvent.created_at.desc())
        .limit(1)
    )
    if last is not None and now - last < MIN_VERIFICATION_INTERVAL:
        raise StreamError(429, "too_many_requests", "verification asked again too soon")
    jti = secrets.token_urlsafe(24)
    claims = {
        "iss": issuer,
        "aud": stream.client_id,
        "jti": jti,
        "iat": now,
        "sub_id": {"format": "opaque", "id": stream.stream_id},
        "events": {events.VERIFICATION: {"state": state} if state is not None else {}},
    }
    db.session.add(
        SignalEvent(
            stream_id=stream.stream_id,
            jti=jti,
            event_type=events.VERIFICATION,
            claims=json.dumps(claims, separators=(",", ":")),
            next_attempt_at=now,
            created_at=now,
            expires_at=now + RETENTION,
        )
    )
    db.session.commit()


def _apply(stream: SignalStream, body: dict, config, replace: bool) -> None:
    """The receiver-supplied properties of ``body`` onto ``stream`` (checked first, all)."""
    delivery = body.get("delivery", {"method": POLL} if replace else None)
    requested = body.get("events_requested", [] if replace else None)
    description = body.get("description", None if replace else stream.description)
    if delivery is not None:
        method, url, authorization = _delivery(delivery, config)
    if requested is not None and (
        not isinstance(requested, list)
        or len(requested) > MAX_EVENTS_REQUESTED
        or not all(isinstance(e, str) and 0 < len(e) <= 255 for e in requested)
    ):
        raise bad("events_requested must be a list of event type URIs")
    if description is not None and not isinstance(description, str):
        raise bad("description must be a string")
    if delivery is not None:
        stream.delivery_method, stream.endpoint_url = method, url
        stream.sealed_authorization = (
            _sealer(config).seal(authorization.encode(), stream.stream_id)
            if authorization
            else None
        )
    if requested is not None:
        stream.events_requested = json.dumps(list(dict.fromkeys(requested)))
    stream.description = description[:MAX_DESCRIPTION] if description else None


def _delivery(delivery: object, config) -> tuple[str, str | None, str | None]:
    """(method, push URL, push Authorization header) of a ``delivery`` object (§6.1)."""
    if not isinstance(delivery, dict):
        raise bad("delivery must be an object")
    method = delivery.get("method", POLL)
    if method == POLL:
        return POLL, None, None  # the poll URL is the transmitter's (§6.1.2)
    if method != PUSH:
        raise bad(f"delivery method must be {PUSH} (push) or {POLL} (poll)")
    url, authorization = delivery.get("endpoint_url"), delivery.get("authorization_header")
    if not isinstance(url, str) or len(url) > 2000:
        raise bad("push delivery needs endpoint_url, the receiver's https URL")
    try:
        client_urls.check(url, config.client_urls.allow_loopback)
    except client_urls.ClientUrlError as e:
        raise bad(f"endpoint_url refused: {e}") from None
    if authorization is not None and (
        not isinstance(authorization, str)
        or not 0 < len(authorization) <= MAX_AUTHORIZATION
        or not all(" " <= c <= "~" for c in authorization)
    ):
        raise bad("authorization_header must be printable ASCII (at most 1024 characters)")
    return PUSH, url, authorization


def _check_transmitter_supplied(stream: SignalStream, body: dict, config) -> None:
    """§8.1.1.3: transmitter-supplied properties in an update must match (events_delivered
    before the update)."""
    expected = {
        "iss": config.issuer,
        "aud": stream.client_id,
        "events_supported": events.supported(config.issuer),
        "events_delivered": delivered_events(stream, config.issuer),
        "min_verification_interval": MIN_VERIFICATION_INTERVAL,
    }
    for name, value in expected.items():
        if name in body and body[name] != value and body[name] != [value]:
            raise bad(f"{name} is the transmitter's and does not match")


def _sealer(config) -> Sealer:
    return Sealer(config.secret_key)
