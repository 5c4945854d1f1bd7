"""Durable models: relying-party clients and token-signing keys.

Clients implement Authlib's ``ClientMixin`` through its SQLAlchemy mixin (RFC 7591 metadata kept as
JSON); our additions are the policy columns a FAPI 2.0 deployment needs per client. Secrets are kept
as SHA-256 digests: they are 256-bit random values, so a plain digest suffices and a stolen
database does not yield usable secrets. Signing keys keep their private part sealed (see
``idp.oidc.sealing``).
"""

from __future__ import annotations

import hashlib
import hmac

from authlib.integrations.sqla_oauth2 import OAuth2ClientMixin
from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, stamped


def secret_digest(secret: str) -> str:
    """The stored form of a client secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(db.Model, OAuth2ClientMixin):
    """A relying party. ``client_metadata`` holds the RFC 7591 fields (redirect_uris, jwks, …)."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id = mapped_column(String(48), unique=True, nullable=False)
    client_secret = mapped_column(String(120), nullable=True)
    """SHA-256 hex digest of the secret (client_secret_basic clients only)."""
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    require_par: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    """RFC 9126 §6: authorization requests must be pushed first."""
    require_dpop: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    """RFC 9449: tokens are only issued bound to a DPoP key."""
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False, default="pairwise")
    sector_identifier: Mapped[str] = mapped_column(String(255), nullable=False)
    """Host (or sector_identifier_uri host) that pairwise subjects are computed for."""
    created_at: Mapped[int] = stamped()

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret:
            return False
        return hmac.compare_digest(self.client_secret, secret_digest(client_secret))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 §4.1.3): no prefixes, no wildcards, no normalisation."""
        return isinstance(redirect_uri, str) and redirect_uri in self.redirect_uris

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")  # every client may refresh

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:  # noqa: ARG002
        """One method per client, at every endpoint that authenticates clients."""
        return self.token_endpoint_auth_method == method

    @property
    def backchannel_logout_uri(self) -> str | None:
        return self.client_metadata.get("backchannel_logout_uri")

    def describe(self) -> dict:
        """What ``idp client show`` prints: everything except the secret digest."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "require_par": self.require_par,
            "require_dpop": self.require_dpop,
            "subject_type": self.subject_type,
            "sector_identifier": self.sector_identifier,
            "created_at": self.created_at,
            **{k: v for k, v in self.client_metadata.items() if k != "token_endpoint_auth_method"},
        }


class SigningKey(db.Model):
    """One token-signing key. State moves next → current → retired → deleted."""

    __tablename__ = "signing_key"
    __table_args__ = tuple(
        # At most one current and one next key per algorithm, even when several processes
        # start at once and each tries to create the first ring.
        Index(
            f"uq_signing_key_one_{state}",
            "alg",
            unique=True,
            sqlite_where=text(f"state = '{state}'"),
            postgresql_where=text(f"state = '{state}'"),
        )
        for state in ("current", "next")
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(8), nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False)
    """``next`` (published, not signing), ``current`` (signing) or ``retired`` (published only)."""
    public_jwk: Mapped[str] = mapped_column(Text, nullable=False)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[int] = stamped()
    activated_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retire_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """When a retired key leaves JWKS: after every token it signed has expired."""


class TokenFamily(db.Model):
    """One authorization (a code redeemed once) and its refresh tokens (rotated unless DPoP-bound).

    Presenting a refresh token that was already used means it was copied: the whole family is
    revoked (RFC 9700 §4.14.2), including the access token issued last.
    """

    __tablename__ = "token_family"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), nullable=False, index=True)
    sub: Mapped[str] = mapped_column(String(64), nullable=False)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    """The IdP session the authorization came from: logout finds the families to end by it."""
    scope: Mapped[str] = mapped_column(Text, nullable=False, default="")
    grant: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON: auth_time, acr, amr, sid, dpop_jkt and the userinfo claims of the authorization."""
    last_access_jti: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = stamped()
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    revoked_at: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    """Both indexed for ``idp tokens purge`` (idp/oidc/purge.py)."""


class RefreshToken(db.Model):
    """One refresh token, stored as the SHA-256 of its value; usable once."""

    __tablename__ = "refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(
        String(64), db.ForeignKey("token_family.id", ondelete="CASCADE"), nullable=False, index=True
    )
    issued_at: Mapped[int] = stamped()
    used_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    family: Mapped[TokenFamily] = db.relationship(lazy="joined")


class LogoutDelivery(db.Model):
    """A back-channel logout notification not yet acknowledged by the relying party.

    Kept in the database so that a restart or a crash does not lose it; any IdP process may
    deliver it (a row is claimed by moving ``next_attempt_at`` forward atomically).
    """

    __tablename__ = "logout_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), nullable=False)
    uri: Mapped[str] = mapped_column(Text, nullable=False)
    sub: Mapped[str] = mapped_column(String(64), nullable=False)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_at: Mapped[int] = stamped()
