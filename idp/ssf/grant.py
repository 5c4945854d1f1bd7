"""Stream-management tokens: the client credentials grant (RFC 6749 §4.4), for scope ``ssf`` only.

A relying party manages its own event stream with its own credentials (SSF 1.0 §7.1.1: the
``urn:ietf:rfc:6749`` authorization scheme). The token endpoint takes ``client_credentials`` from
a client that authenticates with ``private_key_jwt`` and asks for exactly ``ssf``: no other
scope, no other client authentication, and no refresh token; every other grant keeps its FAPI
checks untouched. A client registered to require DPoP gets a DPoP-bound token (RFC 9449 §5), like
any token of its own. The token is an ordinary access token of this IdP (``at+jwt``, ``sub`` the
client id, RFC 9068 §2.2) whose grant record names no account.
"""

from __future__ import annotations

import time
from typing import ClassVar

from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError, scope_to_list
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from flask import g

from ..oidc.auth_methods import AUTH_METHODS
from ..oidc.codes import EndUser
from ..oidc.dpop import bind
from ..oidc.tokens import grant_record, issued_ns

SCOPE = "ssf"
AUTH_METHOD = "private_key_jwt"


class StreamManagementGrant(ClientCredentialsGrant):
    """``client_credentials`` for ``scope=ssf`` from a ``private_key_jwt`` client."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = list(AUTH_METHODS)
    """Any client authenticates, so that one of another method hears why it is refused."""

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if client.token_endpoint_auth_method != AUTH_METHOD:
            raise UnauthorizedClientError("client_credentials needs private_key_jwt")
        self.request.client = client
        if scope_to_list(self.request.payload.scope) != [SCOPE]:
            raise InvalidScopeError("client_credentials is for the scope ssf only")

    def create_token_response(self):
        client = self.request.client
        jkt = bind(client, None, g.get("dpop_jkt"))
        holder = EndUser(client.client_id, int(time.time()), "", (), jkt)
        token = self.generate_token(user=holder, scope=SCOPE, include_refresh_token=False)
        record = {
            "client_id": client.client_id,
            "sub": client.client_id,
            "scope": SCOPE,
            "claims": {},
            "sid": None,
            "jkt": jkt,
            "account_id": "",
            "consent_id": None,
            "issued_ns": issued_ns(),
        }
        services = self.server.services
        lifetime = services.config.tokens.access_token
        services.store().write(grant_record(token["access_token"], record, lifetime))
        return 200, token, self.TOKEN_RESPONSE_HEADER
