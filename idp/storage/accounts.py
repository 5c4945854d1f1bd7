"""Durable models: citizens' accounts and the card certificates bound to them.

An account is an opaque random id; nothing about the person is stored here. A certificate is
bound by its issuer (SHA-256 of the issuer name's DER) and serial number: enough to find the
account at the next login, never the certificate itself (docs/jpki.md §7, "Raw certificates"). The
user-authentication certificate carries no personal data and no My Number, and neither do we.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, owned_by_account, stamped


class Account(db.Model):
    """A person known to this IdP, as far as the cards they logged in with say."""

    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    """256-bit random, base64url: the internal id, never shown to relying parties (they get a
    pairwise subject computed from it)."""
    created_at: Mapped[int] = stamped()
    last_login_at: Mapped[int] = stamped()


class CertificateBinding(db.Model):
    """One user-authentication certificate (issuer + serial) that logs in to one account."""

    __tablename__ = "certificate_binding"
    __table_args__ = (UniqueConstraint("issuer_hash", "serial", name="uq_binding_issuer_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account(index=True)
    issuer_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 hex of the issuer Name's DER: fixed length, and the same for every generation of
    a CA key that keeps its name."""
    serial: Mapped[str] = mapped_column(String(64), nullable=False)
    """The certificate's serial number, upper-case hex (RFC 5280 allows up to 20 octets)."""
    not_after: Mapped[int] = mapped_column(Integer, nullable=False)
    """When the certificate expires (epoch seconds): after it, the binding can no longer log in."""
    created_at: Mapped[int] = stamped()
    last_used_at: Mapped[int] = stamped()
