"""What an authorization request asks the citizen for: its consent items, purpose, retention,
and whether a remembered consent already covers them; and which of the login's
claims it asks for, where (``release``).

Only claims the login established (``LoginResult.claims``) can be released, and only those the
relying party asked for: ``claims.id_token`` members go in the ID token, ``claims.userinfo``
members to userinfo (OIDC Core §5.5). No supported scope asks for claims (``idp.oidc.claims``);
the card login establishes none, so in practice this releases only what an authenticator for
tests establishes. A person's facts are ``verified_claims`` (``verified_release``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import bindparam, select

from ..oidc.authenticator import LoginResult
from ..oidc.claims import SELFINFO_SCOPES, parse_claims_request
from ..storage.consents import Consent
from ..storage.db import run
from . import verified_release
from .decisions import CLAIM_PREFIX, OPENID, ConsentItem


def requested_items(grant, login: LoginResult) -> tuple[ConsentItem, ...]:
    """One item per thing the client would receive, ``openid`` first, each with the purpose
    the request gave for its claim, if any (shown only; never part of a remembered consent)."""
    data = grant.request.payload.data
    claims_request = parse_claims_request(data.get("claims"))
    essential = {
        name
        for member in claims_request.values()
        for name, spec in member.items()
        if isinstance(spec, dict) and spec.get("essential") is True
    }
    id_claims, userinfo_claims = release(login.claims, claims_request)
    claims = sorted({*id_claims, *userinfo_claims})
    scopes = scope_to_list(grant.request.scope) or []
    purposes = verified_release.purposes(claims_request)
    return (
        ConsentItem(OPENID, required=True),
        *(
            ConsentItem(CLAIM_PREFIX + name, name in essential, purposes.get(CLAIM_PREFIX + name))
            for name in claims
        ),
        *(ConsentItem(scope) for scope in scopes if scope in SELFINFO_SCOPES),
        *(
            ConsentItem(i, e, purposes.get(i))
            for i, e in verified_release.requested_items(claims_request)
        ),
    )


def purpose_of(grant) -> str:
    client = grant.request.client
    return grant.request.payload.data.get("purpose") or client.client_metadata.get("purpose", "")


def retention_of(client) -> int | None:
    days = client.client_metadata.get("retention_days")
    return days if isinstance(days, int) and not isinstance(days, bool) else None


def remembered(account_id: str, client_id: str, items, purpose: str, now: int) -> str | None:
    """The id of the newest live, reusable consent covering every requested item, if any.

    Every login after a citizen's first is answered here, so it is one prebuilt statement
    reading two columns, not an ORM query (bench/results/flow-profile.md)."""
    wanted = {item.id for item in items}
    found = run(
        _REMEMBERED,
        {"account": account_id, "client": client_id, "purpose": purpose, "now": now},
    )
    for consent_id, granted in found:
        if wanted <= set(json.loads(granted)):
            return consent_id
    return None


_REMEMBERED = (
    select(Consent.id, Consent.items)
    .where(
        Consent.account_id == bindparam("account"),
        Consent.client_id == bindparam("client"),
        Consent.purpose == bindparam("purpose"),
        Consent.per_request.is_(False),
        Consent.revoked_at.is_(None),
        Consent.expires_at > bindparam("now"),
    )
    .order_by(Consent.created_at.desc())
)


def release(available: Mapping[str, Any], claims_request: Mapping[str, Any]) -> tuple[dict, dict]:
    """(ID-token claims, userinfo claims) from what the login established."""
    wanted_userinfo = set(claims_request.get("userinfo", {}))
    wanted_id_token = set(claims_request.get("id_token", {}))
    pick = lambda names: {n: available[n] for n in sorted(names) if n in available}  # noqa: E731
    return pick(wanted_id_token), pick(wanted_userinfo)
