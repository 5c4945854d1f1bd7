"""Rows the Shared Signals tests start from: accounts, clients, consents, streams."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time

from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange


def add_account() -> str:
    """A new account (inside an app context); its id."""
    from idp.storage.accounts import Account
    from idp.storage.db import db

    account_id = secrets.token_urlsafe(32)
    db.session.add(Account(id=account_id))
    db.session.commit()
    return account_id


def add_consent(account_id: str, client_id: str, **fields) -> str:
    """A consent of ``account_id`` for ``client_id``, live for an hour unless ``fields`` say."""
    from idp.storage.consents import Consent
    from idp.storage.db import db

    now = int(time.time())
    values = {
        "id": secrets.token_urlsafe(32),
        "account_id": account_id,
        "client_id": client_id,
        "client_name": "Bank",
        "items": json.dumps(["openid"]),
        "auth_method": "session",
        "content_digest": "0" * 64,
        "created_at": now - 60,
        "expires_at": now + 3600,
        **fields,
    }
    db.session.add(Consent(**values))
    db.session.commit()
    return values["id"]


def add_stream(client_id: str, **fields) -> str:
    """A push stream of ``client_id`` written directly (the API is tested on its own)."""
    from idp.storage.db import db
    from idp.storage.streams import SignalStream

    stream_id = secrets.token_urlsafe(16)
    values = {
        "stream_id": stream_id,
        "client_id": client_id,
        "delivery_method": "urn:ietf:rfc:8936",
        "events_requested": "[]",
        **fields,
    }
    db.session.add(SignalStream(**values))
    db.session.commit()
    return stream_id


def change(
    status: Status = Status.REVOKED,
    reason: str | None = "keyCompromise",
    kind: CertificateType = CertificateType.AUTH,
    serial: str = "1A2B3C",
    at: dt.datetime | None = None,
) -> StatusChange:
    return StatusChange(
        issuer_hash="ab" * 32,
        serial=serial,
        kind=kind,
        status=status,
        reason=reason,
        changed_at=at or dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        source="feed",
    )


def outbox(stream_id: str) -> list[dict]:
    """The claims of the SETs owed to ``stream_id``, oldest first."""
    from idp.storage.db import db
    from idp.storage.streams import SignalEvent

    rows = db.session.scalars(
        db.select(SignalEvent).where(SignalEvent.stream_id == stream_id).order_by(SignalEvent.id)
    )
    return [json.loads(row.claims) for row in rows]
