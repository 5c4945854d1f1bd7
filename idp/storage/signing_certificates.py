"""Durable model: the signing certificates an account's identity was proven with (issuer + serial).

An identity step or a document signature is accepted only with the double proof of
docs/bridge-protocol.md §9: the card that logged in (its authentication certificate is the
account's own) signed with its signing key in the same card session. Each signing certificate so
proven is recorded here by issuer and serial number, never the certificate or its four facts.
When a different one appears (a new card, or a signing certificate re-issued after a move), the
previous record is marked replaced: the citizen's account page shows the change.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, owned_by_account

FIRST, SAME, CHANGED = "first", "same", "changed"


class SigningCertificateRecord(db.Model):
    """One signing certificate proven together with the account's own authentication key."""

    __tablename__ = "signing_certificate_record"
    __table_args__ = (
        UniqueConstraint("account_id", "issuer", "serial", name="uq_signing_record_certificate"),
        Index("ix_signing_record_account_first", "account_id", "first_verified_at"),
        Index("ix_signing_record_certificate", "issuer_hash", "serial"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account()
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    """The signing certificate's issuer, RFC 4514 (as ``IdentityVerification`` keeps it)."""
    serial: Mapped[str] = mapped_column(String(64), nullable=False)
    """Its serial number, upper-case hex."""
    issuer_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """SHA-256 hex of the issuer Name's DER (``idp.jpki.status.issuer_hash_of``): how a status
    change at the CA finds the record. None on records written before it was kept, until the
    certificate is proven again."""
    first_verified_at: Mapped[int] = mapped_column(Integer, nullable=False)
    last_verified_at: Mapped[int] = mapped_column(Integer, nullable=False)
    replaced_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """When another signing certificate was first proven for the account; None while current."""


def current_signing_certificate(account_id: str) -> SigningCertificateRecord | None:
    query = select(SigningCertificateRecord).where(
        SigningCertificateRecord.account_id == account_id,
        SigningCertificateRecord.replaced_at.is_(None),
    )
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def note_signing_certificate(
    account_id: str, issuer: str, serial: str, now: int, issuer_hash: str | None = None
) -> str:
    """Record that ``account_id`` proved this signing certificate with its own card at ``now``
    (added to the caller's transaction): ``FIRST``, ``SAME`` or ``CHANGED`` (the one before is
    marked replaced). ``issuer_hash``: the issuer's key as status changes name it."""
    serial = serial[:64]
    current = current_signing_certificate(account_id)
    if current is not None and (current.issuer, current.serial) == (issuer, serial):
        current.last_verified_at = now
        current.issuer_hash = issuer_hash or current.issuer_hash
        return SAME
    db.session.execute(
        update(SigningCertificateRecord)
        .where(
            SigningCertificateRecord.account_id == account_id,
            SigningCertificateRecord.replaced_at.is_(None),
        )
        .values(replaced_at=now)
    )
    same = select(SigningCertificateRecord).filter_by(
        account_id=account_id, issuer=issuer, serial=serial
    )
    known = db.session.execute(same).scalar_one_or_none()
    if known is not None:  # an earlier certificate again: current once more
        known.replaced_at, known.last_verified_at = None, now
        known.issuer_hash = issuer_hash or known.issuer_hash
    else:
        db.session.add(
            SigningCertificateRecord(
                account_id=account_id,
                issuer=issuer,
                serial=serial,
                issuer_hash=issuer_hash,
                first_verified_at=now,
                last_verified_at=now,
            )
        )
    return FIRST if current is None else CHANGED


def signing_records_of(issuer_hash: str, serial: str) -> list[SigningCertificateRecord]:
    """The records of this signing certificate (one per account it was proven for; an index
    lookup, as a status change at the CA names it)."""
    query = select(SigningCertificateRecord).where(
        SigningCertificateRecord.issuer_hash == issuer_hash,
        SigningCertificateRecord.serial == serial,
    )
    return list(db.session.execute(query).scalars())


def signing_history(account_id: str) -> list[SigningCertificateRecord]:
    """Every signing certificate the account was proven with, newest first."""
    query = (
        select(SigningCertificateRecord)
        .where(SigningCertificateRecord.account_id == account_id)
        .order_by(
            SigningCertificateRecord.first_verified_at.desc(), SigningCertificateRecord.id.desc()
        )
    )
    return list(db.session.execute(query).scalars())
