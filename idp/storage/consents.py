"""Durable models: what a citizen approved for a service, and what each service received.

A ``Consent`` is written before any authorization code is issued under it, so a
service never holds a token whose approval could be lost in a crash. Revoking sets
``revoked_at``; the row stays, because the access history refers to it. An ``AccessRecord`` is
one delivery of data to a service (claims at the token endpoint, a self-information read, a
verified identity, a document signature): the citizen's record of what went where.
Neither holds the data itself, only the names of the items.
"""

from __future__ import annotations

import json

from sqlalchemy import Index, Integer, String, Text, insert
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, now_seconds, owned_by_account, run, stamped


class Consent(db.Model):
    """One approval: this account let this client have these items, for this purpose."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_account_client", "account_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    account_id: Mapped[str] = owned_by_account()
    client_id: Mapped[str] = mapped_column(String(48), nullable=False)
    client_name: Mapped[str] = mapped_column(String(200), nullable=False)
    """The service's registered name when the citizen approved: the history must still say who."""
    items: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON list of the granted item ids (``idp.consent.decisions.ConsentItem.id``), sorted."""
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """How long the service said it keeps the data (its registration), None if it did not say."""
    per_request: Mapped[bool] = mapped_column(default=False, nullable=False)
    """True when an item needs approval every time (self-information, verified identity): such a
    consent covers the one authorization it was given for and is never reused."""
    auth_method: Mapped[str] = mapped_column(String(32), nullable=False)
    """How the approval was authenticated: ``session`` (the card login of this session) or
    ``card-step-up`` / ``card-sign`` (a fresh card signature binding ``content_digest``)."""
    content_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 hex of the canonical approved content (``idp.consent.decisions.content_digest``)."""
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON: the step-up signature's certificate (issuer hash, serial), nonce and signature."""
    created_at: Mapped[int] = stamped()
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False)
    revoked_at: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def granted(self) -> list[str]:
        return json.loads(self.items)

    def is_live(self, now: int) -> bool:
        return self.revoked_at is None and now < self.expires_at


def live_consent(consent_id: object, now: int | None = None) -> Consent | None:
    """The consent if it exists, is not revoked and has not expired; None otherwise."""
    if not isinstance(consent_id, str) or not consent_id or len(consent_id) > 43:
        return None
    consent = db.session.get(Consent, consent_id)
    return consent if consent is not None and consent.is_live(now or now_seconds()) else None


class AccessRecord(db.Model):
    """One delivery of a citizen's data to a service (the citizen's access history)."""

    __tablename__ = "access_record"
    __table_args__ = (Index("ix_access_record_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account()
    client_id: Mapped[str] = mapped_column(String(48), nullable=False)
    client_name: Mapped[str] = mapped_column(String(200), nullable=False)
    consent_id: Mapped[str | None] = mapped_column(String(43), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    """``claims`` (ID token / token response), ``userinfo``, ``selfinfo``, ``verified_claims``
    or ``document_signature``."""
    item: Mapped[str] = mapped_column(String(200), nullable=False)
    """What was delivered: item ids joined by spaces (e.g. ``selfinfo:income``)."""
    titles: Mapped[str | None] = mapped_column(Text, nullable=True)
    """For a signed document: JSON ``{"ja": …, "en": …}``, its title per language if given."""
    at: Mapped[int] = stamped()


def record_access(
    account_id: str,
    client_id: str,
    client_name: str,
    kind: str,
    item: str,
    consent_id: str | None,
    now: int | None = None,
    titles: str | None = None,
) -> None:
    """Add one access record to the caller's transaction (it commits with its own change)."""
    row = {
        "titles": titles,
        "account_id": account_id,
        "client_id": client_id,
        "client_name": client_name,
        "consent_id": consent_id,
        "kind": kind,
        "item": item[:200],
        "at": now or now_seconds(),
    }
    run(_INSERT_ACCESS, row)


_INSERT_ACCESS = insert(AccessRecord.__table__)
