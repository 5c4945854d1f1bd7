"""Durable model: what the IdP learnt of the status of a card certificate bound to an account.

One row per change the CA made (a revocation with its reason, a hold, a hold's release), for the
account the certificate belongs to: the authentication certificate's account by its binding,
the signing certificate's by its record (docs/jpki.md §7: issuer and serial only, never the
certificate). The row is the citizen's record of what happened and the IdP's memory of it: a
refresh asks it whether the card of the login still stands, and a change delivered twice (by
two sources or two IdP processes) is the same row, by the unique key below. ``applied_at`` says
the change's effects (sessions ended, tokens revoked, relying parties told) are done; a row
without one is applied again at the next delivery of the same change.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, owned_by_account, stamped


class CardStatusEvent(db.Model):
    """One status change of one of an account's card certificates."""

    __tablename__ = "card_status_event"
    __table_args__ = (
        UniqueConstraint(
            "account_id",
            "issuer_hash",
            "serial",
            "status",
            "changed_at",
            name="uq_card_status_event_change",
        ),
        Index("ix_card_status_event_certificate", "issuer_hash", "serial"),
        Index("ix_card_status_event_account_changed", "account_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account()
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    """``auth`` or ``sign`` (``idp.jpki.settings.CertificateType``)."""
    issuer_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 hex of the issuer Name's DER, as ``certificate_binding.issuer_hash``."""
    serial: Mapped[str] = mapped_column(String(64), nullable=False)
    """Upper-case hex."""
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    """``revoked``, ``on_hold`` or ``released`` (``idp.jpki.status.Status``)."""
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The CA's RFC 5280 reason name (``keyCompromise``, ``superseded``...), None if not given."""
    changed_at: Mapped[int] = mapped_column(Integer, nullable=False)
    """When the CA made the change (epoch seconds)."""
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    """Where the IdP first learnt it: ``crl``, ``delta-crl``, ``feed`` or ``ocsp``."""
    recorded_at: Mapped[int] = stamped()
    applied_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """When its effects were done; None while they are owed."""
    sessions_ended: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    families_revoked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    """What applying it ended: IdP sessions (with their token families), and the refresh-token
    families of any client left outside them."""
