"""Which clients are FAPI 2.0 clients (Security Profile §5.3.2.1, §5.3.2.2, §5.4.1): what one
lacks, the sentence production refuses a registration with, and the stored clients that keep a
production process from starting. Development and testing register the others with a warning
(``clients.register_client``).
"""

from __future__ import annotations

from ..config import FAPI_ALGORITHMS, SIGNING_ALGORITHMS, KeysConfig
from ..storage.db import db
from ..storage.models import Client
from .auth_methods import AUTH_METHODS, FAPI_AUTH_METHODS
from .openid import client_signing_alg


def assertion_algorithms(production: bool) -> tuple[str, ...]:
    """Algorithms a client may sign its private_key_jwt assertions with (and discovery lists)."""
    return FAPI_ALGORITHMS if production else SIGNING_ALGORITHMS


def fapi_shortfalls(
    auth_method: object, require_par: bool, require_dpop: bool, alg: object
) -> list[str]:
    """What a client lacks to be a FAPI 2.0 client (Security Profile §5.3.2.1 PAR, §5.3.2.2
    sender-constrained tokens, §5.3.2.1 private_key_jwt or mTLS, §5.4.1 PS256/ES256); empty when
    it is one. ``alg`` is the algorithm that will sign its ID tokens and access tokens."""
    lacks = []
    if auth_method not in FAPI_AUTH_METHODS:
        has = auth_method if auth_method in AUTH_METHODS else "another"
        lacks.append(f"token_endpoint_auth_method private_key_jwt (has {has})")
    if not require_par:
        lacks.append("require_pushed_authorization_requests (PAR, RFC 9126)")
    if not require_dpop:
        lacks.append("dpop_bound_access_tokens (DPoP, RFC 9449)")
    if alg not in FAPI_ALGORITHMS:
        has = alg if alg in SIGNING_ALGORITHMS else "another"
        lacks.append(f"id_token_signed_response_alg PS256 or ES256 (has {has})")
    return lacks


def fapi_refusal(lacks: list[str]) -> str:
    """The one sentence production answers a registration that is not FAPI 2.0 with."""
    return "production registers FAPI 2.0 clients only; this one needs " + "; ".join(lacks)


def stored_client_shortfalls(client: Client, keys: KeysConfig) -> list[str]:
    """``fapi_shortfalls`` of a stored client, with the algorithm it is actually signed with."""
    return fapi_shortfalls(
        client.token_endpoint_auth_method,
        bool(client.require_par),
        bool(client.require_dpop),
        client_signing_alg(client, keys),
    )


def non_fapi_clients(keys: KeysConfig) -> dict[str, list[str]]:
    """Every stored client that is not a FAPI 2.0 client, by client id, with what it lacks."""
    found = {}
    for client in db.session.execute(db.select(Client).order_by(Client.client_id)).scalars():
        if lacks := stored_client_shortfalls(client, keys):
            found[client.client_id] = lacks
    return found


def non_fapi_refusal(keys: KeysConfig) -> str | None:
    """Why a production process must not start (stored clients that are not FAPI 2.0 clients,
    each with what it lacks), or None. docs/operators.md §2 says how to migrate them."""
    found = non_fapi_clients(keys)
    if not found:
        return None
    listed = "; ".join(f"{cid} lacks {', '.join(lacks)}" for cid, lacks in found.items())
    return (
        f"production serves FAPI 2.0 clients only, and {len(found)} stored client(s) are not: "
        f"{listed}. Register each again with idp client add --auth-method private_key_jwt "
        "--require-par --require-dpop --id-token-alg PS256|ES256, then idp client remove the "
        "old id (docs/operators.md, 'FAPI 2.0 clients')"
    )
