"""The IdP's ``StatusListener``: a card certificate's new status, applied to its account.

Each change is looked up by its key, never by a scan of accounts: an authentication certificate
in ``certificate_binding`` (unique on issuer and serial), a signing certificate in
``signing_certificate_record`` (indexed on issuer hash and serial). A certificate bound to no
account is none of the IdP's business and changes nothing.

For each account found the change is recorded (``CardStatusEvent``) before anything is done,
then applied, then marked applied. The record is the idempotency: the same change delivered again
(by the CRL and the feed, by two IdP processes, or by a source retrying a batch) finds its row
applied and does nothing; a row left unapplied by a crash is applied at the next delivery. A
change that tells nothing new is not recorded at all: the status the account already has (the
same revocation seen with another time), anything after a revocation (final), a release without
a hold, or a change older than the newest one known.

What applying does (docs/card-status.md): every change is told to the relying parties holding
a grant for the account (``idp.ssf.signals.card_status_changed``: Security Event Tokens in the
outbox); a revoked or held authentication certificate ends the account's sessions,
refresh-token families and access tokens (``effects``); a revoked or held signing certificate
ends nothing (the person still holds the card they log in with) but is recorded, for the
account page and the relying parties (the verified facts changed); a released hold is recorded
and ends nothing, and restores nothing either: new logins work again because the CA's answer at
the login says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..jpki.settings import CertificateType
from ..jpki.status import Status, StatusChange
from ..oidc.server import SERVER
from ..services import services
from ..ssf.signals import card_status_changed
from ..storage.accounts import CertificateBinding
from ..storage.card_status import CardStatusEvent
from ..storage.db import db
from ..storage.signing_certificates import signing_records_of
from .effects import stop_account

log = logging.getLogger("idp.cardstatus")


class CardStatusListener:
    """Applies status changes to the accounts of one app (``changed`` takes a source's batch)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def changed(self, changes: Sequence[StatusChange]) -> None:
        """Apply each change in order. A failure (the database down) is raised after the
        changes before it were applied: the source delivers the batch again, and what was
        applied already is a no-op then."""
        with self.app.app_context():
            try:
                for change in changes:
                    apply(change)
            finally:
                db.session.remove()


def accounts_of(change: StatusChange) -> list[str]:
    """The accounts bound to the changed certificate (an index lookup; usually one or none)."""
    if change.kind is CertificateType.AUTH:
        query = select(CertificateBinding.account_id).where(
            CertificateBinding.issuer_hash == change.issuer_hash,
            CertificateBinding.serial == change.serial,
        )
        return list(db.session.execute(query).scalars())
    records = signing_records_of(change.issuer_hash, change.serial)
    return sorted({record.account_id for record in records})


def apply(change: StatusChange) -> list[CardStatusEvent]:
    """Record and apply ``change`` for each account bound to its certificate; the events that
    were applied now (none for a change already applied, unknown or telling nothing new)."""
    applied = []
    for account_id in accounts_of(change):
        event = _record(account_id, change)
        if event is None:
            continue
        _apply(event, change)
        applied.append(event)
    return applied


def _key(account_id: str, change: StatusChange) -> dict:
    return {
        "account_id": account_id,
        "issuer_hash": change.issuer_hash,
        "serial": change.serial,
        "status": change.status.value,
        "changed_at": int(change.changed_at.timestamp()),
    }


def _record(account_id: str, change: StatusChange) -> CardStatusEvent | None:
    """The event to apply: new, or recorded earlier and never applied; None if nothing is to be
    done (applied already, or nothing new for this account)."""
    key = _key(account_id, change)
    found = db.session.execute(select(CardStatusEvent).filter_by(**key)).scalar_one_or_none()
    if found is not None:
        return found if found.applied_at is None else None
    if not _tells_something(key):
        return None
    event = CardStatusEvent(
        **key,
        kind=change.kind.value,
        reason=(change.reason or None) and change.reason[:32],
        source=change.source[:16],
        recorded_at=int(time.time()),
    )
    db.session.add(event)
    try:
        db.session.commit()
    except IntegrityError:  # another process recorded the same change at the same moment
        db.session.rollback()
        return None
    return event


def _tells_something(key: dict) -> bool:
    """Whether the change moves the certificate's status for this account (see the module)."""
    query = (
        select(CardStatusEvent.status, CardStatusEvent.changed_at)
        .where(
            CardStatusEvent.account_id == key["account_id"],
            CardStatusEvent.issuer_hash == key["issuer_hash"],
            CardStatusEvent.serial == key["serial"],
        )
        .order_by(CardStatusEvent.changed_at.desc(), CardStatusEvent.id.desc())
        .limit(1)
    )
    latest = db.session.execute(query).one_or_none()
    status = key["status"]
    if latest is None:
        return status != Status.RELEASED.value  # a release of a hold the IdP never saw
    if latest.status == Status.REVOKED.value or latest.changed_at > key["changed_at"]:
        return False
    if status == Status.RELEASED.value:
        return latest.status == Status.ON_HOLD.value
    return status != latest.status


def _apply(event: CardStatusEvent, change: StatusChange) -> None:
    """Tell the relying parties, do what the event means, then mark it applied (a crash before
    leaves it owed, and both run again harmlessly: a Security Event Token already written for
    this change is not written again). The relying parties are told first, while the token
    families that make a service one to tell are still live."""
    signals = card_status_changed(services(), event.account_id, change)
    shared = services()[SERVER].services
    now = int(time.time())
    stops = change.status in (Status.REVOKED, Status.ON_HOLD)
    if stops and change.kind is CertificateType.AUTH:
        stopped = stop_account(shared, event.account_id, now)
        event.sessions_ended, event.families_revoked = stopped.sessions, stopped.families
    event.applied_at = now
    db.session.commit()
    log.info(
        "card status applied",
        extra={
            "account_id": event.account_id,
            "kind": event.kind,
            "status": event.status,
            "reason": event.reason,
            "source": event.source,
            "sessions_ended": event.sessions_ended,
            "token_families": event.families_revoked,
            "signals": signals,
        },
    )
