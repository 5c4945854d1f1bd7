"""What a revoked or held authentication certificate ends: everything the IdP's trust in it gave.

The card let the person in; once the CA revokes or suspends it, nothing obtained with it goes on:

- access tokens: a marker per account in the ephemeral store refuses every access token issued
  before it, of every client, at userinfo, the self-information API and introspection
  (``idp.oidc.tokens.mark_card_stopped``); the grant record of each family's last token goes too;
- IdP sessions: every session of the account ends as a logout ends one (its token families
  revoked, a back-channel logout token with its ``sid`` queued for each client that asked for
  them);
- refresh-token families of every client, not only those of live sessions: found through the
  clients the account's access history names within a refresh token's lifetime (a family is
  born with a ``token`` access record), revoked, and the client owed a logout token for the
  ``sub`` (no ``sid``), as a withdrawn consent is told.

Each step can run again without harm: applying an event twice (a retry after a crash) ends
nothing twice and queues no second logout for a family already revoked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from ..consent.withdrawal import live_families
from ..oidc.backchannel import COURIER, enqueue
from ..oidc.clients import find_client
from ..oidc.logout import end_all_sessions
from ..oidc.refresh import revoke_family
from ..oidc.tokens import mark_card_stopped
from ..services import services as app_services  # here "services" is the protocol's
from ..storage.consents import AccessRecord
from ..storage.db import db


@dataclass(frozen=True)
class Stopped:
    """What stopping an account's card ended."""

    sessions: int
    families: int
    logouts: int
    """Back-channel logout tokens queued for families outside a live session."""


def stop_account(services, account_id: str, now: int) -> Stopped:
    """End every session, refresh-token family and access token of ``account_id``."""
    store, tokens = services.store(), services.config.tokens
    mark_card_stopped(store, account_id, time.time_ns(), tokens.access_token)
    sessions = end_all_sessions(services, account_id)
    families, logouts = _revoke_families(services, account_id, now)
    return Stopped(sessions, families, logouts)


def clients_of(account_id: str, since: int) -> list[str]:
    """The clients the account's access history names since ``since`` (an index range)."""
    query = (
        select(AccessRecord.client_id)
        .where(AccessRecord.account_id == account_id, AccessRecord.at >= since)
        .distinct()
    )
    return sorted(db.session.execute(query).scalars())


def _revoke_families(services, account_id: str, now: int) -> tuple[int, int]:
    """Revoke the account's live families of every client; (families, logouts queued)."""
    families, logouts = [], 0
    for client_id in clients_of(account_id, now - services.config.tokens.refresh_token):
        live = live_families(services, account_id, client_id, now)
        if not live:
            continue
        families += live
        for family in live:
            family.revoked_at = now  # durable with the queued logout, in the commit below
        client = find_client(client_id)
        if client is not None and client.backchannel_logout_uri:
            enqueue(client_id, client.backchannel_logout_uri, live[0].sub, None, now)
            logouts += 1
    db.session.commit()
    store = services.store()
    for family in families:
        revoke_family(family, store)  # forgets the family's last access token
    if logouts:
        app_services()[COURIER].wake()
    return len(families), logouts
