"""The UserInfo endpoint (OIDC Core §5.3) for our JWT access tokens (RFC 9068 §4).

The token must be ours (signature by a published key, ``typ`` at+jwt, ``iss`` and ``aud`` the
issuer, not expired) and still granted (its record in the ephemeral store, which revocation and
logout remove). Errors follow RFC 6750 §3 with ``WWW-Authenticate``, in the ``DPoP`` scheme for a
DPoP request (RFC 9449 §7.1).
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
from .tokens import card_stopped_since, load_grant, withdrawn_since

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
    if card_stopped_since(store, grant, int(decoded.claims["iat"])):
        raise InvalidTokenError("the card of this login was revoked or suspended")
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
        status = 401 if isinstance(error, InvalidDPoPProofError) else status
        others = [h for h in error_headers if h[0].lower() != "www-authenticate"]
        return status, dict(body), [*others, *_challenges(services, headers, dict(body))]
    if grant["claims"] and grant.get("account_id"):
        _record(grant)
    return 200, {**grant["claims"], "sub": grant["sub"]}, default_json_headers


def _challenges(services, headers, body: dict) -> list[tuple[str, str]]:
    """``WWW-Authenticate`` in the scheme the request used: ``DPoP`` with the proof algorithms
    (``algs``) for a DPoP request (RFC 9449 §7.1), ``Bearer`` for a Bearer one (RFC 6750 §3),
    both when it presented neither."""
    description = "".join(
        c for c in str(body.get("error_description", "")) if " " <= c <= "~" and c not in '"\\'
    )
    params = f'error="{body.get("error", "invalid_token")}", error_description="{description}"'
    if body.get("error") == "insufficient_scope":
        params += ', scope="openid"'
    bearer = ("WWW-Authenticate", f"Bearer {params}")
    dpop = ("WWW-Authenticate", f'DPoP {params}, algs="{" ".join(services.dpop.algorithms)}"')
    scheme = (headers.get("Authorization") or "").partition(" ")[0].lower()
    if scheme == "dpop" or "DPoP" in headers:
        return [dpop]
    return [bearer] if scheme == "bearer" else [bearer, dpop]


def delivered_items(claims: dict) -> list[str]:
    """Consent item ids of the claims in a userinfo answer (for the access history)."""
    items = [f"claim:{name}" for name in sorted(claims) if name != "verified_claims"]
    verified = claims.get("verified_claims")
    for block in verified if isinstance(verified, list) else [verified] if verified else []:
        names = sorted(block.get("claims") or {})  # ":age_over_18", a transformed claim
        items += [f"verified:{name.removeprefix(':')}" for name in names]
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
