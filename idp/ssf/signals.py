"""A card's status change, told to every relying party that holds a grant for its account.

``card_status_changed`` is what the card-status listener calls for each change it has matched
to an account. It writes the SETs owed into the outbox (``idp.storage.streams``) and returns:
nothing is sent on the caller's path; the courier pushes them and receivers polling find them.

A relying party hears of an account when it has a stream (SSF 1.0 §8) that is not disabled and
still holds something of the person's: a consent the person has not withdrawn that is live, or
within the retention the service registered (it may still keep the verified facts), or a live
token family. Each hears it under its own pairwise ``sub`` (``iss_sub``, RFC 9493 §3.2.5), and
the ``txn`` and ``jti`` are keyed per stream, so two banks cannot match their events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..jpki.status import StatusChange
from ..oidc.clients import find_client
from ..oidc.sealing import derive_key
from ..oidc.subjects import SubjectMapper
from ..storage.consents import Consent
from ..storage.db import db
from ..storage.models import TokenFamily
from ..storage.streams import RemovedSubject, SignalEvent, SignalStream
from .events import Event, events_for
from .streams import delivered_events, wake_courier

RETENTION = 7 * 86400
"""Seconds an event waits for its receiver's acknowledgement before it is dropped."""
DAY = 86400


def card_status_changed(services, account_id: str, change: StatusChange) -> int:
    """Enqueue the SETs ``change`` owes to each relying party holding a grant for
    ``account_id``; return how many were written (a change already told is not told again).

    ``services``: anything with the app's ``.config`` (``idp.services.AppServices``, or the
    provider's shared services), inside an app context. Commits its own transaction.
    """
    config = services.config
    now = int(time.time())
    events = events_for(change, config.issuer)
    subjects = SubjectMapper(config.secret_key)
    key = derive_key(config.secret_key, b"ssf-event-ids")
    written = 0
    for stream in _streams_holding(account_id):
        client = find_client(stream.client_id)
        if client is None:
            continue
        sub = subjects.for_client(account_id, client)
        if not _holds(stream.client_id, account_id, sub, now) or _removed(stream, sub):
            continue
        wanted = delivered_events(stream, config.issuer)
        txn = _mac(key, stream.stream_id, _change_key(change))[:22]
        for event in events:
            if event.type in wanted:
                claims = set_claims(config.issuer, stream.client_id, sub, event, txn, now)
                claims["jti"] = _mac(key, stream.stream_id, _change_key(change), event.type)
                written += enqueue(stream, claims, event.type, now)
    db.session.commit()
    if written:
        wake_courier(services)
    return written


def set_claims(issuer: str, client_id: str, sub: str, event: Event, txn: str, now: int) -> dict:
    """The SET (RFC 8417 §2; SSF 1.0 §4.1: no ``sub``, no ``exp``) about one person."""
    return {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "txn": txn,
        "sub_id": {"format": "iss_sub", "iss": issuer, "sub": sub},
        "events": {event.type: {k: v for k, v in event.members.items() if v is not None}},
    }


def enqueue(stream: SignalStream, claims: dict, event_type: str, now: int) -> int:
    """Add one SET to the stream's outbox in the session's transaction: 1, or 0 when the
    stream already has this ``jti``."""
    if db.session.scalar(
        select(SignalEvent.id).where(
            SignalEvent.stream_id == stream.stream_id, SignalEvent.jti == claims["jti"]
        )
    ):
        return 0
    row = SignalEvent(
        stream_id=stream.stream_id,
        jti=claims["jti"],
        event_type=event_type,
        claims=json.dumps(claims, separators=(",", ":"), ensure_ascii=False),
        next_attempt_at=now,
        created_at=now,
        expires_at=now + RETENTION,
    )
    try:
        with db.session.begin_nested():  # another node may write the same change at once
            db.session.add(row)
    except IntegrityError:
        return 0
    return 1


def _streams_holding(account_id: str) -> list[SignalStream]:
    """Streams, not disabled, of clients with a consent of the account not withdrawn."""
    clients = select(Consent.client_id).where(
        Consent.account_id == account_id, Consent.revoked_at.is_(None)
    )
    found = select(SignalStream).where(
        SignalStream.client_id.in_(clients), SignalStream.status != "disabled"
    )
    return list(db.session.scalars(found.order_by(SignalStream.client_id)))


def _holds(client_id: str, account_id: str, sub: str, now: int) -> bool:
    """The client holds a live consent, data within its retention, or a live token family."""
    consents = db.session.scalars(
        select(Consent).where(
            Consent.account_id == account_id,
            Consent.client_id == client_id,
            Consent.revoked_at.is_(None),
        )
    )
    for consent in consents:
        kept_until = consent.created_at + (consent.retention_days or 0) * DAY
        if now < consent.expires_at or now < kept_until:
            return True
    family = select(TokenFamily.id).where(
        TokenFamily.client_id == client_id,
        TokenFamily.sub == sub,
        TokenFamily.expires_at > now,
        TokenFamily.revoked_at.is_(None),
    )
    return db.session.scalar(family.limit(1)) is not None


def _removed(stream: SignalStream, sub: str) -> bool:
    return db.session.get(RemovedSubject, (stream.stream_id, sub)) is not None


def _change_key(change: StatusChange) -> str:
    moment = int(change.changed_at.timestamp())
    return f"{change.issuer_hash}/{change.serial}/{change.kind}/{change.status}/{moment}"


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
