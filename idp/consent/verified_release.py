"""Verified claims as consent items, and what a grant of them releases.

The request's ``verified_claims`` are checked by the protocol (``idp.oidc.verified_claims``:
refused with ``invalid_request`` before anything is shown). Here they become the consent items
``verified:<fact>`` the citizen approves, each with its claim's ``purpose``; and, once approved
with the signing certificate, the ``verified_claims`` the ID token and userinfo carry. Release is
the opposite of the request check: only claims both requested and granted, each only where it
was requested, and only the verification data the request named (OIDC4IDA §6.2: the OP adds
nothing unrequested, except the members the response schema requires). A transformed claim
``:age_over_NN`` is answered true/false from the birth date (``age_over``), which is not sent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Mapping
from typing import Any

from ..oidc.verified_claims import (
    LOCATIONS,
    SIGNATURE_TYPE,
    claim_purposes,
    fact_of,
    requested_facts,
    requests_in,
    transformed_ages,
    trust_framework,
)
from .decisions import CLAIM_PREFIX, VERIFIED_PREFIX, VerifiedIdentity

JST = dt.timezone(dt.timedelta(hours=9))
"""Ages are counted on the calendar day in Japan."""


def requested_items(claims_request: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(``verified:<claim>`` item id, essential) for each verified claim the request asks for,
    in ``id_token`` or ``userinfo``; ``InvalidRequestError`` when ``verified_claims`` is
    malformed. Empty when the request asks for none."""
    return [(VERIFIED_PREFIX + fact, e) for fact, e in requested_facts(claims_request).items()]


def purposes(claims_request: Mapping[str, Any]) -> dict[str, str]:
    """Item id → the ``purpose`` the request gave for that claim (first one wins), for the
    consent screen: ordinary claims (``claim:<name>``) and verified ones (``verified:<fact>``);
    ``invalid_request`` for one the protocol refuses (``claim_purposes``)."""
    ordinary, verified = claim_purposes(claims_request)
    return {
        **{CLAIM_PREFIX + name: purpose for name, purpose in ordinary.items()},
        **{VERIFIED_PREFIX + fact: purpose for fact, purpose in verified.items()},
    }


def release(
    claims_request: Mapping[str, Any],
    identity: VerifiedIdentity,
    granted: Collection[str],
    client_metadata: Mapping[str, Any],
    *,
    now: float | None = None,
) -> tuple[dict | list | None, dict | list | None]:
    """(``verified_claims`` for the ID token, for userinfo): only claims both requested and
    granted, each where it was requested; None where nothing is released. The trust framework
    is the request's, else the client's registered ``trust_framework``.

    A request given as an array is answered with an array of the requests that release
    something. A ``time.max_age`` the verification does not meet omits that request (§6.3).
    """
    if not any(item.startswith(VERIFIED_PREFIX) for item in granted):
        return None, None
    framework = trust_framework(claims_request, client_metadata)
    ages = transformed_ages(claims_request)
    now = time.time() if now is None else now
    out: dict[str, list[dict]] = {location: [] for location in LOCATIONS}
    shapes: dict[str, bool] = {}
    for location, _, request in requests_in(claims_request):
        shapes[location] = isinstance(claims_request[location]["verified_claims"], list)
        answer = _answer(request, identity, granted, framework, now, ages)
        if answer is not None:
            out[location].append(answer)

    def shape(location: str) -> dict | list | None:
        answers = out[location]
        if not answers:
            return None
        return answers if shapes[location] else answers[0]

    return shape("id_token"), shape("userinfo")


def _answer(
    request: Mapping[str, Any],
    identity: VerifiedIdentity,
    granted: Collection[str],
    framework: str,
    now: float,
    ages: Mapping[str, int],
) -> dict | None:
    claims = {
        name: (
            age_over(identity.birthdate, ages[name[1:]], now)
            if name.startswith(":")
            else _claim_value(name, identity)
        )
        for name in request["claims"]
        if VERIFIED_PREFIX + fact_of(name, ages) in granted
    }
    if not claims:
        return None  # §6.5: no verified_claims element without claims
    asked = request["verification"]
    max_age = (asked.get("time") or {}).get("max_age")
    if max_age is not None and now - identity.signed_at > max_age:
        return None
    verification: dict[str, Any] = {"trust_framework": framework}
    if "time" in asked:
        verification["time"] = _timestamp(identity.signed_at)
    if "evidence" in asked:
        verification["evidence"] = [_evidence(identity, e) for e in asked["evidence"]]
    return {"verification": verification, "claims": claims}


def _evidence(identity: VerifiedIdentity, asked: Mapping[str, Any]) -> dict:
    """The schema's required members always; ``created_at`` only when asked for."""
    evidence = {
        "type": "electronic_signature",
        "signature_type": SIGNATURE_TYPE,
        "issuer": identity.issuer,
        "serial_number": identity.serial,
    }
    if "created_at" in asked:
        evidence["created_at"] = _timestamp(identity.signed_at)
    return evidence


def _claim_value(name: str, identity: VerifiedIdentity) -> Any:
    """The certificate's facts as OIDC Core §5.1 claims (address as its ``formatted`` form)."""
    family, _, given = identity.name.partition("\u3000")
    return {
        "name": identity.name,
        "family_name": family,
        "given_name": given,
        "address": {"formatted": identity.address},
        "birthdate": identity.birthdate,
        "gender": identity.gender,
    }[name]


def age_over(birthdate: str, years: int, now: float) -> bool:
    """Whether someone born on ``birthdate`` (YYYY-MM-DD) is ``years`` old or more on the day
    ``now`` falls on in Japan. One turns NN on the birthday (年齢計算ニ関スル法律: the age
    grows as the day before it ends); someone born on 29 February, on 1 March in other years."""
    born = dt.date.fromisoformat(birthdate)
    today = dt.datetime.fromtimestamp(now, JST).date()
    year = born.year + years
    try:
        birthday = born.replace(year=year)
    except ValueError:  # 29 February in a year without it
        birthday = dt.date(year, 3, 1)
    return today >= birthday


def _timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with seconds, as OIDC4IDA's ``time`` and ``created_at`` expect."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
