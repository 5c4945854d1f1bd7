"""The UserInfo endpoint (OIDC Core §5.3) for our JWT access tokens (RFC 9068 §4).

The token must be ours (signature by a published key, ``typ`` at+jwt, ``iss`` and ``aud`` the
issuer, not expired) and still granted (its record in the ephemeral store, which revocation and
logout remove). Errors follow RFC 6750 §3 with ``WWW-Authenticate``.
"""

from __future__ import annotations

import time

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from joserfc import jwt
from joserfc.errors import JoseError

from .. import audit
from ..storage.consents import record_access
from ..storage.db import db
from .clients import serving_client
from .dpop import InvalidDPoPProofError
from .tokens import load_grant, withdrawn_since

REQUIRED = ("iss", "aud", "exp", "iat", "sub", "client_id", "jti")


def verify_access_token(services, token: str) -> dict:
    """The grant record behind a valid access token; ``InvalidTokenError`` otherwise."""
    config = services.config
    try:
        decoded = jwt.decode(
            token, services.ring().public_keys(), algorithms=list(config.keys.algorithms)
        )
        if decoded.header.get("typ") != "at+jwt":
            raise InvalidTokenError("not an access token")
        options = {name: {"essential": True} for name in REQUIRED}
        options["iss"]["value"] = options["aud"]["value"] = config.issuer
        jwt.JWTClaimsRegistry(now=int(time.time()), **options).validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as e:
        raise InvalidTokenError("the access token is invalid or expired") from e
    store = services.store()
    grant = load_grant(store, str(decoded.claims["jti"]))
    if grant is None or grant["sub"] != decoded.claims["sub"]:
        raise InvalidTokenError("the access token was revoked")
    if withdrawn_since(store, grant, int(decoded.claims["iat"])):
        raise InvalidTokenError("the person withdrew this service's access")
    return grant


def authenticate(services, headers, method: str, url: str) -> dict:
    """The grant of the presented token, checking the DPoP proof of a key-bound token (§7)."""
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() not in ("bearer", "dpop") or not token:
        raise InvalidTokenError("a Bearer or DPoP access token is required")
    grant = verify_access_token(services, token)
    if grant.get("jkt") is None:
        if scheme.lower() != "bearer":
            raise InvalidTokenError("this access token is not DPoP-bound; use Bearer")
        return grant
    if scheme.lower() != "dpop":
        raise InvalidTokenError("this access token is DPoP-bound; use the DPoP scheme")
    jkt = services.dpop.verify(headers, method, url, access_token=token, require_nonce=False)
    if jkt != grant["jkt"]:
        raise InvalidTokenError("the DPoP proof key is not the token's key")
    return grant


def userinfo(services, headers, method: str, url: str) -> tuple[int, dict, list]:
    """(status, body, headers) for a UserInfo request."""
    try:
        grant = authenticate(services, headers, method, url)
        if "openid" not in (scope_to_list(grant["scope"]) or []):
            raise InsufficientScopeError()
    except (InvalidTokenError, InsufficientScopeError, InvalidDPoPProofError) as error:
        status, body, error_headers = error()
        if isinstance(error, InvalidDPoPProofError):
            status = 401
            error_headers = [*error_headers, ("WWW-Authenticate", f'DPoP error="{error.error}"')]
        return status, dict(body), error_headers
    if grant["claims"] and grant.get("account_id"):
        _record(grant)
    return 200, {**grant["claims"], "sub": grant["sub"]}, default_json_headers


def delivered_items(claims: dict) -> list[str]:
    """Consent item ids of the claims in a userinfo answer (for the access history)."""
    items = [f"claim:{name}" for name in sorted(claims) if name != "verified_claims"]
    verified = claims.get("verified_claims")
    for block in verified if isinstance(verified, list) else [verified] if verified else []:
        items += [f"verified:{name}" for name in sorted(block.get("claims") or {})]
    return items


def _record(grant: dict) -> None:
    """Personal data left the IdP: add it to the citizen's access history."""
    client_id, account_id = grant["client_id"], grant["account_id"]
    client = serving_client(client_id)
    name = client.name if client is not None else client_id
    items = delivered_items(grant["claims"])
    record_access(account_id, client_id, name, "userinfo", " ".join(items), grant.get("consent_id"))
    db.session.commit()
    audit.emit(
        audit.DATA_PROVIDED, client_id=client_id, account_id=account_id, via="userinfo", items=items
    )
