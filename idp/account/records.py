"""What the account pages read: one account's consents and access history, nothing else.

Every query names the account: the pages only ever see rows of the person logged in, and a
consent id from a URL that belongs to someone else is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..storage.consents import AccessRecord, Consent
from ..storage.db import db
from ..storage.signing_certificates import SigningCertificateRecord, signing_history

PAGE_SIZE = 50
"""Access records per page of the history."""
MAX_ID = 43
"""Consent ids are 256-bit base64url values; anything longer is not one."""


@dataclass(frozen=True)
class HistoryPage:
    records: list[AccessRecord]
    consents: dict[str, Consent]
    """The consents the records were made under (this account's only), by id."""
    number: int
    """1-based; clamped to the pages that exist."""
    pages: int


def active_consents(account_id: str, now: int) -> list[Consent]:
    """Live consents, newest first."""
    query = (
        select(Consent)
        .where(
            Consent.account_id == account_id,
            Consent.revoked_at.is_(None),
            Consent.expires_at > now,
        )
        .order_by(Consent.created_at.desc(), Consent.id)
    )
    return list(db.session.execute(query).scalars())


def own_consent(account_id: str, consent_id: str) -> Consent | None:
    """The consent if it exists and is this account's; None for anyone else's."""
    if not consent_id or len(consent_id) > MAX_ID:
        return None
    consent = db.session.get(Consent, consent_id)
    return consent if consent is not None and consent.account_id == account_id else None


def history(account_id: str, number: int, size: int = PAGE_SIZE) -> HistoryPage:
    """Page ``number`` of the access history, newest first."""
    total = db.session.scalar(
        select(func.count()).select_from(AccessRecord).where(AccessRecord.account_id == account_id)
    )
    pages = max(1, -(-(total or 0) // size))
    number = min(max(1, number), pages)
    query = (
        select(AccessRecord)
        .where(AccessRecord.account_id == account_id)
        .order_by(AccessRecord.at.desc(), AccessRecord.id.desc())
        .offset((number - 1) * size)
        .limit(size)
    )
    records = list(db.session.execute(query).scalars())
    ids = {r.consent_id for r in records if r.consent_id}
    consents: dict[str, Consent] = {}
    if ids:
        found = select(Consent).where(Consent.id.in_(ids), Consent.account_id == account_id)
        consents = {c.id: c for c in db.session.execute(found).scalars()}
    return HistoryPage(records, consents, number, pages)


def signing_certificates(account_id: str) -> list[SigningCertificateRecord]:
    """The signing certificates the account's own card proved, newest first: the page shows a
    change of certificate as a new line above the replaced one."""
    return signing_history(account_id)
