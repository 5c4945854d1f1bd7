"""Refresh tokens: DPoP-bound ones are kept, unbound ones rotate with reuse detection.

Each token is 256 random bits stored as its SHA-256. The family's lifetime is absolute
(``tokens.refresh_token``); nothing extends it.

A family whose tokens are bound to a DPoP key (its grant's ``dpop_jkt``) keeps its one refresh
token: every refresh must prove that key, and the FAPI 2.0 Security Profile's authorization
server requirements say not to rotate sender-constrained refresh tokens, because a client that
lost a refresh answer retries with the token it holds and must not lose the session for it. The
response repeats the token.

An unbound family (a development client without DPoP) rotates (RFC 9700 §4.14.2): using a token
marks it used in the same UPDATE that checks it was unused, so two racing requests cannot both
rotate it. A used token presented again means a copy exists: the family and its last access
token are revoked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from authlib.oauth2.rfc6749 import InvalidGrantError, grants
from flask import g
from sqlalchemy import bindparam, insert, update

from ..services import services as app_services  # here "services" is the protocol's
from ..storage.consents import live_consent
from ..storage.db import db, run
from ..storage.models import RefreshToken, TokenFamily
from .auth_methods import AUTH_METHODS
from .authenticator import CARD_STANDING, CardStanding
from .codes import EndUser
from .dpop import bind
from .tokens import grant_key


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_family(
    client_id: str, sub: str, scope: str, grant: dict, lifetime: int, access_jti: str
) -> str:
    """Add a token family for a redeemed code, with the access token issued first; its id.

    This module writes with prebuilt Core statements, not the ORM's unit of work: the token
    endpoint is the hot path (bench/results/flow-profile.md). The caller commits."""
    family_id, now = secrets.token_urlsafe(32), int(time.time())
    row = {
        "id": family_id,
        "client_id": client_id,
        "sub": sub,
        "sid": grant.get("sid"),
        "scope": scope,
        "grant": json.dumps(grant),
        "created_at": now,
        "expires_at": now + lifetime,
        "last_access_jti": access_jti,
        "revoked_at": None,
    }
    run(_INSERT_FAMILY, row)
    return family_id


def add_token(family_id: str, token: str) -> None:
    """Add a new refresh token to the family (the caller commits)."""
    run(_INSERT_TOKEN, {"token_hash": digest(token), "family_id": family_id})


def set_last_access(family_id: str, access_jti: str) -> None:
    """Remember the access token issued last, which revoking the family revokes too."""
    run(_SET_LAST_ACCESS, {"family": family_id, "jti": access_jti})


_INSERT_FAMILY = insert(TokenFamily.__table__)
_INSERT_TOKEN = insert(RefreshToken.__table__)
_SET_LAST_ACCESS = (
    update(TokenFamily.__table__)
    .where(TokenFamily.__table__.c.id == bindparam("family"))
    .values(last_access_jti=bindparam("jti"))
)


def revoke_family(family: TokenFamily, store) -> None:
    """Revoke every refresh token of the family and the access token issued last."""
    family.revoked_at = int(time.time())
    if family.last_access_jti:
        store.delete(grant_key(family.last_access_jti))
    db.session.commit()


def revoke_family_by_id(family_id: str, store) -> None:
    if (family := db.session.get(TokenFamily, family_id)) is not None:
        revoke_family(family, store)


def use_token(token: str, store, standing: CardStanding | None = None) -> RefreshToken | None:
    """The unused, live refresh token, now marked used; None (and revocation on reuse) otherwise.

    ``standing``: asked whether the card of the family's login still stands; where it does not,
    the family is revoked and ``InvalidGrantError`` says why."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return None
    row = db.session.get(RefreshToken, digest(token))
    if row is None:
        return None
    family, now = row.family, int(time.time())
    if family.revoked_at is not None or family.expires_at <= now:
        return None
    grant = json.loads(family.grant)
    consent_id = grant.get("consent_id")
    if consent_id is not None and live_consent(consent_id, now) is None:
        return None  # the citizen withdrew (or the consent ran out): nothing more for the client
    refusal = standing(grant.get("certificate", ""), grant["auth_time"]) if standing else None
    if refusal:
        revoke_family(family, store)  # the card was revoked or held: never again
        raise InvalidGrantError(refusal)
    if grant.get("dpop_jkt") and row.used_at is None:
        return row  # sender-constrained: kept, not rotated (the module docstring)
    claimed = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == row.token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        revoke_family(family, store)
        return None
    return row


class RotatingRefreshToken:
    """The ``TokenMixin`` view of a refresh token that Authlib's grant works with."""

    def __init__(self, row: RefreshToken, presented: str) -> None:
        self.family = row.family
        self.kept = presented if json.loads(row.family.grant).get("dpop_jkt") else None
        """The presented token, answered again, when its family is DPoP-bound (not rotated)."""

    def check_client(self, client) -> bool:
        return self.family.client_id == client.client_id

    def get_scope(self) -> str:
        return self.family.scope


class RefreshGrant(grants.RefreshTokenGrant):
    """Authlib's refresh grant: a new refresh token for an unbound family, the same one again
    for a DPoP-bound family (the module docstring)."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RotatingRefreshToken | None:
        standing = app_services()[CARD_STANDING]
        row = use_token(refresh_token, self.server.services.store(), standing)
        return RotatingRefreshToken(row, refresh_token) if row else None

    def issue_token(self, user, refresh_token: RotatingRefreshToken) -> dict:
        if refresh_token.kept is None:
            return super().issue_token(user, refresh_token)
        scope = self.request.payload.scope or refresh_token.get_scope()
        token = self.generate_token(user=user, scope=scope, include_refresh_token=False)
        token["refresh_token"] = refresh_token.kept  # RFC 6749 §6: still valid, send it again
        return token

    def authenticate_user(self, refresh_token: RotatingRefreshToken) -> EndUser:
        family = refresh_token.family
        grant = json.loads(family.grant)
        jkt = bind(self.request.client, grant.get("dpop_jkt"), g.get("dpop_jkt"))
        return EndUser(family.sub, grant["auth_time"], grant["acr"], tuple(grant["amr"]), jkt)

    def revoke_old_credential(self, refresh_token: RotatingRefreshToken) -> None:
        """Nothing more to do: ``use_token`` already marked a rotating token used."""
