"""What an authorization request asks the citizen for: its consent items, purpose, retention,
and whether a remembered consent already covers them (issue 7 §2)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import select

from ..storage.consents import Consent
from ..storage.db import db
from . import verified_claims
from .authenticator import LoginResult
from .claims import SELFINFO_SCOPES, parse_claims_request, release
from .consent import CLAIM_PREFIX, OPENID, ConsentItem


def requested_items(grant, login: LoginResult) -> tuple[ConsentItem, ...]:
    """One item per thing the client would receive, ``openid`` first."""
    data = grant.request.payload.data
    claims_request = parse_claims_request(data.get("claims"))
    essential = {
        name
        for member in claims_request.values()
        for name, spec in member.items()
        if isinstance(spec, dict) and spec.get("essential") is True
    }
    id_claims, userinfo_claims = release(login.claims, grant.request.scope or "", claims_request)
    claims = sorted({*id_claims, *userinfo_claims})
    scopes = scope_to_list(grant.request.scope) or []
    return (
        ConsentItem(OPENID, required=True),
        *(ConsentItem(CLAIM_PREFIX + name, name in essential) for name in claims),
        *(ConsentItem(scope) for scope in scopes if scope in SELFINFO_SCOPES),
        *(ConsentItem(i, e) for i, e in verified_claims.requested_items(claims_request)),
    )


def purpose_of(grant) -> str:
    client = grant.request.client
    return grant.request.payload.data.get("purpose") or client.client_metadata.get("purpose", "")


def retention_of(client) -> int | None:
    days = client.client_metadata.get("retention_days")
    return days if isinstance(days, int) and not isinstance(days, bool) else None


def remembered(account_id: str, client_id: str, items, purpose: str, now: int):
    """The newest live, reusable consent covering every requested item, if any."""
    wanted = {item.id for item in items}
    query = (
        select(Consent)
        .filter_by(account_id=account_id, client_id=client_id, per_request=False, purpose=purpose)
        .where(Consent.revoked_at.is_(None), Consent.expires_at > now)
        .order_by(Consent.created_at.desc())
    )
    for consent in db.session.execute(query).scalars():
        if wanted <= set(consent.granted()):
            return consent
    return None
