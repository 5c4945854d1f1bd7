"""Durable model: the record of one identity verification with the signing certificate.

What the law asks a verifier to keep about *how* a person was verified — method, time, the
certificate used (issuer and serial) and the trust framework — and nothing about *who*: the
basic four facts (name, address, birthdate, gender) live only in the authorization code and
the grant record, in the ephemeral store, for as long as the flow needs them. The relying party
receives them in ``verified_claims`` and keeps them under its own legal obligation.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, owned_by_account


class SigningCertificateUse(Protocol):
    """What a verification record keeps of a verified identity (``idp.consent.decisions.
    VerifiedIdentity``): the certificate and when it signed, never the facts. Storage imports no
    feature, so it names only these fields."""

    issuer: str
    serial: str
    signed_at: int


METHOD = "electronic_signature"
"""OIDC4IDA evidence type: an electronic signature with the card's signing certificate."""
SIGNATURE_TYPE = "jp_jpki"
"""Same as ``idp.oidc.verified_claims.SIGNATURE_TYPE`` (a test holds them equal)."""


class IdentityVerification(db.Model):
    """One verification of an account's identity for one client, under one approval."""

    __tablename__ = "identity_verification"
    __table_args__ = (Index("ix_identity_verification_account_at", "account_id", "verified_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account()
    client_id: Mapped[str] = mapped_column(String(48), nullable=False)
    consent_id: Mapped[str | None] = mapped_column(String(43), nullable=True, index=True)
    """The per-request Consent the citizen approved with the signing certificate."""
    trust_framework: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """``jp_aml`` or ``jp_mpiupa`` (``idp.oidc.verified_claims.TRUST_FRAMEWORKS``); None when
    the signing certificate only raised the acr (no verified claims, no registered framework)."""
    method: Mapped[str] = mapped_column(String(32), nullable=False, default=METHOD)
    signature_type: Mapped[str] = mapped_column(String(32), nullable=False, default=SIGNATURE_TYPE)
    certificate_issuer: Mapped[str] = mapped_column(Text, nullable=False)
    """The signing certificate's issuer, RFC 4514."""
    certificate_serial: Mapped[str] = mapped_column(String(64), nullable=False)
    """Its serial number, upper-case hex: with the issuer, what J-LIS can trace, not a fact."""
    signed_at: Mapped[int] = mapped_column(Integer, nullable=False)
    """When the card signed the consent-bound challenge (epoch seconds)."""
    verified_at: Mapped[int] = mapped_column(Integer, nullable=False)
    """When the IdP validated the certificate, revocation included (epoch seconds)."""


def record_verification(
    account_id: str,
    client_id: str,
    consent_id: str | None,
    identity: SigningCertificateUse,
    trust_framework: str | None,
    now: int | float,
) -> IdentityVerification:
    """Add the record to the session (the caller commits with its own change). Only the
    certificate's issuer and serial are taken from ``identity``, never the facts."""
    record = IdentityVerification(
        account_id=account_id,
        client_id=client_id,
        consent_id=consent_id,
        trust_framework=trust_framework,
        method=METHOD,
        signature_type=SIGNATURE_TYPE,
        certificate_issuer=identity.issuer,
        certificate_serial=identity.serial[:64],
        signed_at=int(identity.signed_at),
        verified_at=int(now),
    )
    db.session.add(record)
    return record
