"""Token introspection (RFC 7662): a client may introspect only the tokens issued to it.

Inactive, unknown, expired, revoked or foreign tokens all answer ``{"active": false}`` and
nothing else (§2.2), so introspection cannot be used to probe other clients' tokens.
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from .auth_methods import AUTH_METHODS
from .revocation import AccessTokenRef, find_token

ACCESS_CLAIMS = (
    "scope",
    "client_id",
    "sub",
    "exp",
    "iat",
    "iss",
    "aud",
    "jti",
    "acr",
    "auth_time",
    "cnf",
)


class Introspection(IntrospectionEndpoint):
    """RFC 7662 with the client-authentication methods of the token endpoint."""

    CLIENT_AUTH_METHODS: ClassVar = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        return find_token(self.server.services, token_string, token_type_hint)

    def check_permission(self, token, client, request) -> bool:  # noqa: ARG002
        return token.check_client(client)

    def introspect_token(self, token) -> dict:
        if isinstance(token, AccessTokenRef):
            body = {k: token.claims[k] for k in ACCESS_CLAIMS if k in token.claims}
            token_type = "DPoP" if "cnf" in body else "Bearer"
            return {"active": True, "token_type": token_type, **body}
        family = token.family
        return {
            "active": True,
            "client_id": family.client_id,
            "sub": family.sub,
            "scope": family.scope,
            "exp": family.expires_at,
        }
