"""Token revocation (RFC 7009) and the token lookup it shares with introspection (RFC 7662).

A token string is either one of our access tokens (verified, then found by ``jti``) or a refresh
token (found by digest). Revoking an access token deletes its grant record; revoking a refresh
token revokes its family, as RFC 7009 §2.1 suggests, including the family's last access token.
Unknown, expired or foreign-format tokens are "nothing to revoke" (§2.2: still 200).
"""

from __future__ import annotations

import json
import time
from typing import ClassVar

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from joserfc import jws

from ..storage.db import db
from ..storage.models import RefreshToken
from .auth_methods import AUTH_METHODS
from .refresh import digest, revoke_family
from .tokens import grant_key
from .userinfo import verify_access_token


class AccessTokenRef:
    """A live access token and its grant record."""

    token_type = "access_token"  # noqa: S105 (a type name)

    def __init__(self, claims: dict, grant: dict) -> None:
        self.claims, self.grant = claims, grant
        self.client_id = grant["client_id"]

    def check_client(self, client) -> bool:
        return self.client_id == client.client_id

    def is_expired(self) -> bool:
        return self.claims["exp"] <= time.time()

    def is_revoked(self) -> bool:
        return False  # a revoked access token has no grant record, so no reference exists


class RefreshTokenRef:
    """A stored refresh token and its family."""

    token_type = "refresh_token"  # noqa: S105 (a type name)

    def __init__(self, row: RefreshToken) -> None:
        self.row, self.family = row, row.family
        self.client_id = self.family.client_id

    def check_client(self, client) -> bool:
        return self.client_id == client.client_id

    def is_expired(self) -> bool:
        return self.family.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return self.family.revoked_at is not None or self.row.used_at is not None


def find_token(services, token: str, hint: str | None):
    """The access or refresh token behind ``token``, or None; ``hint`` only orders the search."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        return None
    finders = [_access, _refresh]
    if hint == "refresh_token":
        finders.reverse()
    for finder in finders:
        if found := finder(services, token):
            return found
    return None


def _access(services, token: str) -> AccessTokenRef | None:
    if token.count(".") != 2:
        return None
    try:
        grant = verify_access_token(services, token)
    except InvalidTokenError:
        return None
    claims = json.loads(jws.extract_compact(token.encode()).payload)
    return AccessTokenRef(claims, grant)


def _refresh(services, token: str) -> RefreshTokenRef | None:  # noqa: ARG001 (finder signature)
    row = db.session.get(RefreshToken, digest(token))
    return RefreshTokenRef(row) if row else None


class Revocation(RevocationEndpoint):
    """RFC 7009 with the client-authentication methods of the token endpoint."""

    CLIENT_AUTH_METHODS: ClassVar = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        return find_token(self.server.services, token_string, token_type_hint)

    def revoke_token(self, token, request) -> None:  # noqa: ARG002
        store = self.server.services.store()
        if isinstance(token, AccessTokenRef):
            store.delete(grant_key(token.claims["jti"]))
        else:
            revoke_family(token.family, store)
