"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) on Authlib's endpoint.

Ending a session deletes the IdP session, revokes the refresh-token families obtained in it and
queues back-channel logout tokens for those clients (``backchannel``). ``id_token_hint`` must be an
ID token we issued (our keys, our ``iss``; expiry is allowed, §2); redirection only to a
registered ``post_logout_redirect_uri`` and only with a valid hint (§3). Without a hint the
person is asked to confirm, because logout by URL alone is a denial-of-service lever (§6).
"""

from __future__ import annotations

import time

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import session

from ..services import services as app_services  # here "services" is the protocol's
from ..storage.db import db
from ..storage.models import TokenFamily
from .backchannel import COURIER, enqueue
from .clients import find_client
from .refresh import revoke_family
from .sessions import forget_index, sessions_of


class EndSession(EndSessionEndpoint):
    """The end_session endpoint wired to our keys, sessions and token families."""

    def validate_request(self, request):
        validated = super().validate_request(request)
        claims = validated.id_token_claims
        if claims is not None and claims.get("iss") != self.server.services.config.issuer:
            raise InvalidRequestError("id_token_hint was not issued here")
        return validated

    def resolve_client_from_id_token_claims(self, id_token_claims: dict):
        """Our ID tokens carry ``aud`` as a one-element list and ``azp``."""
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str):
            return self.server.query_client(aud[0])
        return super().resolve_client_from_id_token_claims(id_token_claims)

    def get_server_jwks(self) -> dict:
        return self.server.services.ring().jwks()

    def get_algorithms(self) -> list[str]:
        return list(self.server.services.config.keys.algorithms)

    def end_session(self, end_session_request) -> None:  # noqa: ARG002
        """End this browser's session only: an ID token names a session, it does not own it."""
        sid = session.get("sid")
        if isinstance(sid, str):
            end_idp_session(self.server.services, sid)
        session.clear()


def end_idp_session(services, sid: str) -> None:
    """Forget the session, revoke its token families, queue logout tokens for their clients."""
    store, now = services.store(), int(time.time())
    store.delete("session:" + sid)
    families = db.session.execute(db.select(TokenFamily).filter_by(sid=sid)).scalars().all()
    notified: set[str] = set()
    for family in families:
        revoke_family(family, store)
        client = find_client(family.client_id)
        if client is None or not client.backchannel_logout_uri or client.client_id in notified:
            continue
        notified.add(client.client_id)
        enqueue(client.client_id, client.backchannel_logout_uri, family.sub, sid, now)
    db.session.commit()
    if notified:
        app_services()[COURIER].wake()


def end_all_sessions(services, account_id: str) -> int:
    """Sign the account out everywhere: every IdP session it started ends as ``end_idp_session``
    ends one. Returns how many were still live."""
    store = services.store()
    live = [sid for sid in sessions_of(store, account_id) if store.get("session:" + sid)]
    for sid in live:
        end_idp_session(services, sid)
    forget_index(store, account_id)
    return len(live)
