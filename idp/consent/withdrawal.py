"""Withdrawing a consent: the citizen takes back what a service was allowed.

Revoking is more than a flag. The self-information API checks the consent on every read, so
``revoked_at`` alone refuses the service's next read; but the service also holds tokens. Every
token family of that client for this person is revoked with it (refresh tokens dead, the last
access token's grant record gone, so userinfo refuses it), whichever consent the family was
issued under: the citizen ended the relationship, not one grant of it. If the client registered
a ``backchannel_logout_uri`` it is told to end its sessions of this person: a logout token with
``sub`` and no ``sid`` (OpenID Connect Back-Channel Logout 1.0 §2.4 allows either; without
``sid`` it means every session of that subject at the RP).

The consent, the families' revocation and the queued logout are written in one transaction,
before the ephemeral store forgets the access tokens: a crash in between leaves nothing the
service could still use for more than an access token's lifetime, and no consent half-revoked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import audit
from ..oidc.backchannel import COURIER, enqueue
from ..oidc.clients import find_client
from ..oidc.refresh import revoke_family
from ..oidc.tokens import mark_withdrawn
from ..services import services as app_services  # here "services" is the protocol's
from ..storage.consents import Consent
from ..storage.db import db
from ..storage.models import TokenFamily


@dataclass(frozen=True)
class Withdrawal:
    """What revoking one consent did."""

    consent_id: str
    families_revoked: int
    """Token families (refresh tokens and their last access token) that died with it."""
    logout_queued: bool
    """A back-channel logout token is owed to the client."""


def live_families(services, account_id: str, client_id: str, now: int) -> list[TokenFamily]:
    """The unrevoked, unexpired token families this client holds for this account.

    Families record the client's own (pairwise) ``sub``, so the account is found through it.
    A client that no longer exists has no families anyone could use: its credentials are gone.
    """
    client = find_client(client_id)
    if client is None:
        return []
    sub = services.subjects.for_client(account_id, client)
    query = db.select(TokenFamily).where(
        TokenFamily.client_id == client_id,
        TokenFamily.sub == sub,
        TokenFamily.revoked_at.is_(None),
        TokenFamily.expires_at > now,
    )
    return list(db.session.execute(query).scalars())


def revoke_consent(services, consent: Consent, now: int) -> Withdrawal:
    """Revoke ``consent``, its service's tokens for this person, and queue its logout.

    Revoking a consent that is already revoked changes nothing (a repeated form post).
    """
    if consent.revoked_at is not None:
        return Withdrawal(consent.id, 0, logout_queued=False)
    consent.revoked_at = now
    families = live_families(services, consent.account_id, consent.client_id, now)
    for family in families:
        family.revoked_at = now  # durable with the consent, in the commit below
    logout_queued = _queue_logout(services, consent, now)
    db.session.commit()
    audit.emit(
        audit.CONSENT_WITHDRAWN,
        client_id=consent.client_id,
        account_id=consent.account_id,
        consent_id=consent.id,
        token_families=len(families),
        logout_queued=logout_queued,
    )
    store = services.store()
    ttl = services.config.tokens.access_token
    mark_withdrawn(store, consent.client_id, consent.account_id, time.time_ns(), ttl)
    for family in families:
        revoke_family(family, store)  # forgets the family's last access token
    if logout_queued:
        app_services()[COURIER].wake()
    return Withdrawal(consent.id, len(families), logout_queued)


def _queue_logout(services, consent: Consent, now: int) -> bool:
    """Owe the client a logout token for this person if it registered where to send one."""
    client = find_client(consent.client_id)
    if client is None or not client.backchannel_logout_uri:
        return False
    sub = services.subjects.for_client(consent.account_id, client)
    enqueue(client.client_id, client.backchannel_logout_uri, sub, None, now)
    return True
