"""ID tokens (OIDC Core §2, §3.1.3.6) through Authlib's ``OpenIDCode`` extension.

Signed with the current key of ``client_signing_alg(client)``, ``kid`` in the header, lifetime
from configuration; ``sub`` is the pairwise subject, and only claims the relying party asked for
in ``claims.id_token`` are added.
"""

from __future__ import annotations

import time

from authlib.oidc.core.grants import OpenIDCode

from ..config import KeysConfig
from .codes import AuthorizationCode


def client_signing_alg(client, keys: KeysConfig) -> str:
    """The one algorithm that signs this client's ID tokens and access tokens: its registered
    ``id_token_signed_response_alg`` when this IdP holds keys for it, else the operator's
    ``keys.default_algorithm`` (RS256 unless changed, the OIDC Registration default).

    One rule for both tokens, so a client that registered PS256 or ES256 (FAPI 2.0 §5.4) is
    never handed an RS256 token. Registration refuses algorithms outside ``keys.algorithms``;
    the fallback only matters if the operator later drops one.
    """
    alg = client.client_metadata.get("id_token_signed_response_alg")
    return alg if alg in keys.algorithms else keys.default_algorithm


class IdTokenExtension(OpenIDCode):
    """``OpenIDCode`` wired to our key ring and configuration."""

    def __init__(self, services) -> None:
        super().__init__(require_nonce=False)
        self._services = services

    def get_client_algorithm(self, client) -> str:
        return client_signing_alg(client, self._services.config.keys)

    def resolve_client_private_key(self, client):
        return self._services.ring().signing_key(self.get_client_algorithm(client))

    def get_encode_header(self, client) -> dict:
        key = self.resolve_client_private_key(client)
        return {"alg": self.get_client_algorithm(client), "kid": key.kid, "typ": "JWT"}

    def get_client_claims(self, client) -> dict:
        now = int(time.time())
        return {
            "iss": self._services.config.issuer,
            "aud": [client.get_client_id()],
            "azp": client.get_client_id(),
            "iat": now,
            "exp": now + self._services.config.tokens.id_token,
        }

    def get_authorization_code_claims(self, authorization_code: AuthorizationCode) -> dict:
        claims = super().get_authorization_code_claims(authorization_code)
        claims.update(authorization_code.id_token_claims)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user, scope) -> dict:  # noqa: ARG002 (claims: see claims.py)
        return {"sub": user.get_user_id()}

    def exists_nonce(self, nonce, request) -> bool:  # noqa: ARG002
        """Nonce replay is the relying party's check (it compares the ID token's nonce)."""
        return False
