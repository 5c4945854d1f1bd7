"""Verified claims (OpenID Connect for Identity Assurance 1.0): what the request asks for.

The relying party asks with the ``claims`` parameter (OIDC Core §5.5): a ``verified_claims``
member of ``id_token`` or ``userinfo``, an object or an array of objects, each with a
``verification`` (``trust_framework`` required, ``time`` and ``evidence`` optional) and a non-empty
``claims``. What we can attest is what the signing certificate (署名用電子証明書) says, validated
with a fresh revocation check: name, address, birthdate, gender (the basic four facts), under
``jp_aml`` (banks: Act on Prevention of Transfer of Criminal Proceeds) or ``jp_mpiupa`` (mobile
carriers), with ``electronic_signature`` evidence.

Deliberately stricter than the specification's "omit what you cannot fulfil": a request we cannot
satisfy (unknown trust framework, unsupported claim or evidence, bad structure) is refused with
``invalid_request`` before anything is shown, so a bank never believes it asked for something
it will not get. What a grant of them releases (only claims both requested and granted) is the
consent's: ``idp.consent.verified_release``, which reads requests through ``requests_in`` and
``trust_framework`` here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .hygiene import VSCHAR

TRUST_FRAMEWORKS = ("jp_aml", "jp_mpiupa")
"""eKYC-IDA identifiers (openid.net/wg/ekyc-ida/identifiers): jp_aml = 犯罪収益移転防止法,
jp_mpiupa = 携帯電話不正利用防止法."""
EVIDENCE_TYPES = ("electronic_signature",)
SIGNATURE_TYPE = "jp_jpki"
"""``evidence.signature_type``: a signature with a JPKI signing certificate. Not a registered
identifier (none exists for JPKI); named like the registry's ``jp_`` values."""
CLAIM_ITEMS = {
    "name": "name",
    "family_name": "name",
    "given_name": "name",
    "address": "address",
    "birthdate": "birthdate",
    "gender": "gender",
}
"""Claim → the basic fact (consent item ``verified:<fact>``) it is read from."""
AGE_THRESHOLDS = (18, 20)
"""The NN of ``age_over_NN`` a relying party may ask for as a transformed claim (OpenID Connect
Advanced Syntax for Claims, "Transformed Claims"): ``{"claim": "birthdate", "fn": ["years_ago",
["gte", NN]]}``, answered ``true``/``false`` from the verified birth date on the day of the
request, without the birth date. The transformed claim must be named ``age_over_NN`` (ASC lets
the relying party choose; one name per meaning keeps consent items and the access history
exact). Its consent item is ``verified:age_over_NN``."""
AGE_FUNCTIONS = ("years_ago", "gte")
LOCATIONS = ("id_token", "userinfo")
PURPOSE_LENGTH = (3, 300)
"""OIDC4IDA: a ``purpose`` shorter or longer is an ``invalid_request``."""
UNSHOWN = ("Cc", "Cf", "Zl", "Zp")
"""Unicode categories a purpose shown to the person may not contain (control, format, line and
paragraph separators; a Japanese full-width space is fine)."""

MAX_DESCRIPTION = 200

_PURPOSE = {"type": "string", "minLength": PURPOSE_LENGTH[0], "maxLength": PURPOSE_LENGTH[1]}
_BASE = {"essential": {"type": "boolean"}, "purpose": _PURPOSE}


def _nullable(properties: dict, **extra) -> dict:
    return {"oneOf": [{"type": "null"}, {"type": "object", "properties": properties, **extra}]}


_SIMPLE = _nullable(_BASE)
_CONSTRAINABLE = _nullable(
    {**_BASE, "value": {"type": "string"}, "values": {
        "type": "array", "minItems": 1, "items": {"type": "string"}
    }},
    **{"not": {"required": ["value", "values"]}},
)  # fmt: skip
_TIME = _nullable({**_BASE, "max_age": {"type": "integer", "minimum": 0}})
_EVIDENCE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "object", "required": ["value"], "properties": {
            "value": {"type": "string"}
        }},
        "signature_type": _CONSTRAINABLE,
        "issuer": _SIMPLE,
        "serial_number": _SIMPLE,
        "created_at": _TIME,
    },
}  # fmt: skip
_VERIFIED_CLAIMS = {
    "type": "object",
    "required": ["verification", "claims"],
    "additionalProperties": False,
    "properties": {
        "verification": {
            "type": "object",
            "required": ["trust_framework"],
            "additionalProperties": False,
            "properties": {
                "trust_framework": _CONSTRAINABLE,
                "time": _TIME,
                "evidence": {"type": "array", "minItems": 1, "items": _EVIDENCE},
                # Defined by OIDC4IDA; we hold no such data, so they are accepted and omitted.
                "assurance_level": _CONSTRAINABLE,
                "assurance_process": {"type": ["null", "object"]},
                "verification_process": _SIMPLE,
            },
        },
        "claims": {"type": "object", "minProperties": 1, "additionalProperties": _SIMPLE},
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "oneOf": [_VERIFIED_CLAIMS, {"type": "array", "minItems": 1, "items": _VERIFIED_CLAIMS}],
}
"""The request subset we accept, after OIDC4IDA's ``verified_claims_request.json``."""
_VALIDATOR = Draft202012Validator(SCHEMA)


def _refuse(message: str, prefix: str = "verified_claims: ") -> InvalidRequestError:
    """An ``invalid_request`` whose description is safe to send back: request values in it are
    cut short and anything outside RFC 6749 §5.2's characters becomes ``?`` (Authlib refuses
    such descriptions with a ``ValueError``, which would be a 500)."""
    text = "".join(c if VSCHAR.fullmatch(c) else "?" for c in f"{prefix}{message}")
    return InvalidRequestError(text[:MAX_DESCRIPTION])


def requests_in(claims_request: Mapping[str, Any]) -> Iterator[tuple[str, int, dict]]:
    """(location, index, one verified_claims request) for each, validated."""
    for location in LOCATIONS:
        member = claims_request.get(location) or {}
        if not isinstance(member, Mapping) or "verified_claims" not in member:
            continue
        raw = member["verified_claims"]
        error = best_match(_VALIDATOR.iter_errors(raw))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(top)"
            raise _refuse(f"{location} is malformed at {path} ({error.validator})")
        ages = transformed_ages(claims_request)
        for index, request in enumerate(raw if isinstance(raw, list) else [raw]):
            _check_supported(request, ages)
            yield location, index, request


def transformed_ages(claims_request: Mapping[str, Any]) -> dict[str, int]:
    """Transformed claim name → NN, for the ``transformed_claims`` of the request, each of which
    must be an ``age_over_NN`` on ``birthdate`` with NN in ``AGE_THRESHOLDS``; anything else is
    refused (``invalid_request``), as an unsupported claim is."""
    raw = claims_request.get("transformed_claims") or {}
    ages: dict[str, int] = {}
    for name, spec in raw.items():
        fn = spec.get("fn") if isinstance(spec, Mapping) else None
        ok = (
            isinstance(spec, Mapping)
            and spec.get("claim") == "birthdate"
            and isinstance(fn, list)
            and len(fn) == 2
            and fn[0] in ("years_ago", ["years_ago"])
            and isinstance(fn[1], list)
            and len(fn[1]) == 2
            and fn[1][0] == "gte"
            and type(fn[1][1]) is int
            and fn[1][1] in AGE_THRESHOLDS
            and name == f"age_over_{fn[1][1]}"
        )
        if not ok:
            raise _refuse(
                f"transformed claim {str(name)[:40]!r}: only age_over_NN, birthdate with "
                f'["years_ago", ["gte", NN]], NN one of {list(AGE_THRESHOLDS)}, is supported',
                prefix="claims: ",
            )
        ages[name] = fn[1][1]
    return ages


def fact_of(name: str, ages: Mapping[str, int]) -> str:
    """The consent fact of a requested verified claim: a basic fact, or ``age_over_NN`` for a
    ``:name`` referring to a transformed claim (ASC). Call after ``_check_supported``."""
    if name.startswith(":"):
        return f"age_over_{ages[name[1:]]}"
    return CLAIM_ITEMS[name]


def _check_supported(request: Mapping[str, Any], ages: Mapping[str, int]) -> None:
    for name in request["claims"]:
        if name not in CLAIM_ITEMS and not (name.startswith(":") and name[1:] in ages):
            raise _refuse(f"the claim {name[:40]!r} cannot be verified by this provider")
    _frameworks(request)  # an unknown trust framework is refused here
    for evidence in request["verification"].get("evidence") or []:
        if evidence["type"]["value"] not in EVIDENCE_TYPES:
            kind = evidence["type"]["value"][:40]
            raise _refuse(f"evidence of type {kind!r} is not supported")
        signature_type = _allowed(evidence.get("signature_type"))
        if signature_type is not None and SIGNATURE_TYPE not in signature_type:
            raise _refuse("only signature_type 'jp_jpki' is supported")


def _allowed(spec: Mapping[str, Any] | None) -> list[str] | None:
    """The values a constrainable element allows, in the request's order; None: any."""
    if not spec:
        return None
    if "value" in spec:
        return [spec["value"]]
    return list(spec["values"]) if "values" in spec else None


def _frameworks(request: Mapping[str, Any]) -> list[str] | None:
    allowed = _allowed(request["verification"]["trust_framework"])
    if allowed is None:
        return None
    supported = [f for f in allowed if f in TRUST_FRAMEWORKS]
    if not supported:
        named = ", ".join(f[:40] for f in allowed[:5])
        raise _refuse(f"trust framework {named} not supported (we support {TRUST_FRAMEWORKS})")
    return supported


def is_requested(claims_request: Mapping[str, Any]) -> bool:
    """True when the request asks for verified claims at all (validates nothing)."""
    return any(
        isinstance(claims_request.get(loc), Mapping) and "verified_claims" in claims_request[loc]
        for loc in LOCATIONS
    )


def requested_facts(claims_request: Mapping[str, Any]) -> dict[str, bool]:
    """Basic fact (``CLAIM_ITEMS`` value) → essential, for each verified claim the request asks
    for, in ``id_token`` or ``userinfo``; ``InvalidRequestError`` when ``verified_claims`` is
    malformed. Empty when the request asks for none."""
    essential: dict[str, bool] = {}
    ages = transformed_ages(claims_request)
    for _, _, request in requests_in(claims_request):
        for name, spec in request["claims"].items():
            fact = fact_of(name, ages)
            essential[fact] = essential.get(fact, False) or bool((spec or {}).get("essential"))
    return essential


def claim_purposes(claims_request: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The ``purpose`` the request gave for each claim (first one wins), checked: (ordinary
    claim name → purpose, basic fact of a verified claim → purpose), in ``id_token`` or
    ``userinfo``. OIDC4IDA defines the member for any individual claim request.
    ``invalid_request`` for one that is not 3–300 characters of showable text. The request-wide
    ``purpose`` parameter is ``check_purpose``'s."""
    ordinary: dict[str, str] = {}
    verified: dict[str, str] = {}
    for location in LOCATIONS:
        member = claims_request.get(location)
        asked = member.items() if isinstance(member, Mapping) else ()
        for name, spec in asked:
            if name != "verified_claims" and isinstance(spec, Mapping) and "purpose" in spec:
                ordinary.setdefault(name, _claim_purpose(name, spec["purpose"]))
    ages = transformed_ages(claims_request)
    for _, _, request in requests_in(claims_request):
        for name, spec in request["claims"].items():
            if spec and "purpose" in spec:
                verified.setdefault(fact_of(name, ages), _claim_purpose(name, spec["purpose"]))
    return ordinary, verified


def _claim_purpose(name: str, purpose: object) -> str:
    """One claim's ``purpose``, checked as the request-wide one is: the person reads it."""
    low, high = PURPOSE_LENGTH
    try:
        checked = check_purpose(purpose)
    except InvalidRequestError:
        checked = None
    if checked is None:
        message = f"the purpose of {name[:40]!r} must be {low} to {high} characters of text"
        raise _refuse(message, prefix="claims: ")
    return checked


def check_purpose(purpose: object) -> str | None:
    """A ``purpose`` (OIDC4IDA: the request's, or one claim's): absent, or 3–300 characters shown
    to the person, so without control, format or separator characters (a Japanese full-width
    space is fine); anything else is ``invalid_request``."""
    if purpose is None:
        return None
    low, high = PURPOSE_LENGTH
    if not isinstance(purpose, str) or not low <= len(purpose) <= high:
        raise InvalidRequestError(f"'purpose' must be {low} to {high} characters")
    if any(unicodedata.category(c) in UNSHOWN for c in purpose):
        raise InvalidRequestError("'purpose' must not contain control characters")
    return purpose


def trust_framework(claims_request: Mapping[str, Any], client_metadata: Mapping[str, Any]) -> str:
    """The one trust framework this authorization attests under, or ``invalid_request``.

    Every ``verified_claims`` request's ``trust_framework`` constraint must allow it. The
    client's registered ``trust_framework`` wins when allowed; otherwise the request's first
    allowed value. With no constraint and no registration there is nothing to attest under.
    """
    candidates = list(TRUST_FRAMEWORKS)
    constrained = False
    for _, _, request in requests_in(claims_request):
        allowed = _frameworks(request)
        if allowed is not None:
            order = allowed if not constrained else candidates
            candidates = [f for f in order if f in allowed and f in candidates]
            constrained = True
    if not candidates:
        raise _refuse("the requested trust frameworks exclude each other")
    registered = client_metadata.get("trust_framework")
    if registered in candidates:
        return registered
    if constrained:
        return candidates[0]
    raise _refuse("no trust framework: request one or register the client with one")


def check_request(
    claims_request: Mapping[str, Any], client_metadata: Mapping[str, Any]
) -> str | None:
    """Everything about the request's verified claims that can be refused before the login:
    structure, claims, evidence, trust framework. The framework, or None when none are
    requested. For the authorization request policy (``/authorize`` and ``/par`` alike).
    Per-claim purposes, of ordinary claims too, are checked here, since they are shown."""
    claim_purposes(claims_request)
    if not is_requested(claims_request):
        return None
    requested_facts(claims_request)
    return trust_framework(claims_request, client_metadata)


def discovery_metadata() -> dict:
    """OIDC4IDA §8 provider metadata for what this module attests."""
    return {
        "verified_claims_supported": True,
        "trust_frameworks_supported": list(TRUST_FRAMEWORKS),
        "evidence_supported": list(EVIDENCE_TYPES),
        "claims_in_verified_claims_supported": list(CLAIM_ITEMS),
        "transformed_claims_supported": True,
        "transformed_claims_functions_supported": list(AGE_FUNCTIONS),
    }
