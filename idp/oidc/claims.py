"""Claims as the protocol names them: the scopes that ask for them (OIDC Core §5.4) and the
``claims`` parameter (§5.5), parsed once here. Which of them a grant releases, and where, is the
consent's (``idp.consent.requested.release``); ``sub`` is always there and is the pairwise subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError

from . import untrusted_json

SCOPE_CLAIMS = {
    "profile": ("name", "family_name", "given_name", "birthdate", "gender"),
    "address": ("address",),
}
SELFINFO_CATEGORIES = ("income", "household", "health_insurance", "pension", "child_benefit")
"""Self-information categories, modelled on Mynaportal's: resident-tax income
(住民税の課税・所得), household (世帯), health insurance, pensions, child benefits. Each is a
scope ``selfinfo:<category>`` and an endpoint of ``idp.selfinfo``."""
SELFINFO_SCOPES = tuple(f"selfinfo:{category}" for category in SELFINFO_CATEGORIES)
SUPPORTED_SCOPES = ("openid", "profile", "address", *SELFINFO_SCOPES)
SUPPORTED_CLAIMS = ("sub", "acr", "amr", "auth_time", *SCOPE_CLAIMS["profile"], "address")


MAX_CLAIMS_BYTES = 16 * 1024


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
    if not isinstance(value, dict) or not set(value) <= {"id_token", "userinfo"}:
        raise InvalidRequestError("'claims' must be an object with id_token and/or userinfo")
    for member in value.values():
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


def requested_acr_values(claims_request: Mapping[str, Any]) -> list[str]:
    """acr values asked for through ``claims.id_token.acr`` (values or value)."""
    spec = claims_request.get("id_token", {}).get("acr") or {}
    values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
    return [v for v in values if isinstance(v, str)]
