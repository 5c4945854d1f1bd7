"""Signing a Security Event Token (RFC 8417) at delivery, with the IdP's current key.

The header is ``typ: secevent+jwt`` (RFC 8417 §2.3, SSF 1.0 §4.1.1) and names the key (``kid``)
published at ``jwks_uri``; the algorithm is the one the client's ID tokens are signed with, as for
back-channel logout tokens, so a FAPI client gets PS256 or ES256 only.
"""

from __future__ import annotations

import json

from joserfc import jwt

from ..oidc.clients import find_client
from ..oidc.openid import client_signing_alg

TYPE = "secevent+jwt"
MEDIA_TYPE = "application/secevent+jwt"


def sign(services, client_id: str, claims: str | dict) -> str:
    """The compact SET for ``claims`` (JSON text as the outbox keeps it, or a dict).

    ``services``: the provider's shared services (``idp.oidc.server.Services``)."""
    if isinstance(claims, str):
        claims = json.loads(claims)
    client = find_client(client_id)
    alg = client_signing_alg(client, services.config.keys) if client else None
    key = services.ring().signing_key(alg)
    header = {"alg": key.alg, "kid": key.kid, "typ": TYPE}
    return jwt.encode(header, claims, key, algorithms=[key.alg])
