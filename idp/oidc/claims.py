"""Claims as the protocol names them: the scopes this provider supports and the ``claims``
parameter (OIDC Core §5.5), parsed once here. Which of them a grant releases, and where, is the
consent's (``idp.consent.requested.release``); ``sub`` is always there and is the pairwise subject.

Only what the IdP can actually give is offered. The card login's user-authentication certificate
carries no name, address, birth date or gender, so OIDC Core §5.4's ``profile`` and ``address``
scopes are not supported: a request for them is ``invalid_scope`` (``unsupported_scope_error``),
never an empty answer the client mistakes for a missing customer. Those facts come only from
the signing certificate, as ``verified_claims`` (``idp.oidc.verified_claims``), with their own
consent line and the signing password.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, scope_to_list

from . import untrusted_json

IDENTITY_SCOPES = ("profile", "address")
"""OIDC Core §5.4 scopes for facts only the signing certificate has: refused, with a pointer to
``verified_claims``."""
SELFINFO_CATEGORIES = ("income", "household", "health_insurance", "pension", "child_benefit")
"""Self-information categories, modelled on Mynaportal's: resident-tax income
(住民税の課税・所得), household (世帯), health insurance, pensions, child benefits. Each is a
scope ``selfinfo:<category>`` and an endpoint of ``idp.selfinfo``."""
SELFINFO_SCOPES = tuple(f"selfinfo:{category}" for category in SELFINFO_CATEGORIES)
SUPPORTED_SCOPES = ("openid", *SELFINFO_SCOPES)
SUPPORTED_CLAIMS = ("sub", "acr", "amr", "auth_time", "verified_claims")
"""Claims outside ``verified_claims`` that the IdP releases, and ``verified_claims`` itself,
whose members are ``claims_in_verified_claims_supported`` (OIDC4IDA §8)."""


def unsupported_scope_error(scope: str | None) -> InvalidScopeError | None:
    """The ``invalid_scope`` error (RFC 6749 §4.1.2.1) for a request naming a scope not in
    ``SUPPORTED_SCOPES``, its description saying where name and address come from; else None."""
    unsupported = set(scope_to_list(scope) or []) - set(SUPPORTED_SCOPES)
    if not unsupported:
        return None
    if unsupported <= set(IDENTITY_SCOPES):
        return InvalidScopeError(
            "profile and address are not supported: the login certificate carries no name, "
            "address, birth date or gender; request them as verified_claims in the claims "
            "parameter (signing certificate)"
        )
    return InvalidScopeError("a requested scope is not supported (see scopes_supported)")


MAX_CLAIMS_BYTES = 16 * 1024
TRANSFORMED = ("transformed_claims",)
"""OpenID Connect Advanced Syntax for Claims: definitions the ``claims`` members refer to as
``:name`` (only inside ``verified_claims`` here)."""


def parse_claims_request(raw: str | None) -> dict[str, dict[str, Any]]:
    """The ``claims`` parameter as {"id_token": {...}, "userinfo": {...}}; malformed → refused.

    Its shape is checked here, once: bounded JSON (``untrusted_json``), an object of objects,
    each claim null or an object whose ``essential`` is a boolean and ``values`` an array
    (OIDC Core §5.5.1); ``verified_claims`` is checked by ``verified_claims``."""
    if not raw:
        return {}
    try:
        value = untrusted_json.load(raw, MAX_CLAIMS_BYTES)
    except untrusted_json.UntrustedJsonError as e:
        raise InvalidRequestError(f"'claims' {e}") from None
    if not isinstance(value, dict) or not set(value) <= {"id_token", "userinfo", *TRANSFORMED}:
        raise InvalidRequestError("'claims' must be an object with id_token and/or userinfo")
    _check_transformed(value.get("transformed_claims", {}))
    members = [v for k, v in value.items() if k not in TRANSFORMED]  # see ``verified_claims``
    for member in members:
        if member is not None and not isinstance(member, dict):
            raise InvalidRequestError("'claims' members must be objects")
        for name, spec in (member or {}).items():
            if name == "verified_claims" and isinstance(spec, list):
                continue  # OIDC4IDA allows an array; ``verified_claims`` checks its members
            if spec is not None and not isinstance(spec, dict):
                raise InvalidRequestError("each requested claim must be null or an object")
            if not isinstance((spec or {}).get("essential", False), bool) or not isinstance(
                (spec or {}).get("values", []), list
            ):
                raise InvalidRequestError("'essential' must be a boolean and 'values' an array")
    return {k: v or {} for k, v in value.items()}


def _check_transformed(transformed: object) -> None:
    """``transformed_claims``: an object of objects (their meaning is ``verified_claims``')."""
    if not isinstance(transformed, dict) or not all(
        isinstance(spec, dict) for spec in transformed.values()
    ):
        raise InvalidRequestError("'transformed_claims' must be an object of objects")


def requested_acr_values(claims_request: Mapping[str, Any]) -> list[str]:
    """acr values asked for through ``claims.id_token.acr`` (values or value)."""
    spec = claims_request.get("id_token", {}).get("acr") or {}
    values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
    return [v for v in values if isinstance(v, str)]
