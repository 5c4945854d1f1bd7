"""Issuing the authorization code with what the citizen granted, and nothing more.

Only granted ``claim:`` items are released, verified claims only with a proven identity, and a
self-information scope stays in the token's scope only if its item was granted. The code records
(server-side) the account, the consent and the items, for the grant record and the history.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list

from ..oidc.approval import Approval
from ..oidc.authenticator import LoginResult
from ..oidc.claims import parse_claims_request
from . import verified_release
from .decisions import CLAIM_PREFIX, SELFINFO_PREFIX
from .requested import release


def issue(server, grant, login: LoginResult, sid: str, consent_id: str, granted, identity=None):
    """Issue the code for ``login`` with only the ``granted`` items (Authlib adds ``iss``)."""
    client, data = grant.request.client, grant.request.payload.data
    claims_request = parse_claims_request(data.get("claims"))
    id_claims, userinfo_claims = release(login.claims, claims_request)
    allowed = {i.removeprefix(CLAIM_PREFIX) for i in granted if i.startswith(CLAIM_PREFIX)}
    id_claims = {k: v for k, v in id_claims.items() if k in allowed}
    userinfo_claims = {k: v for k, v in userinfo_claims.items() if k in allowed}
    if identity is not None:
        in_id_token, in_userinfo = verified_release.release(
            claims_request, identity, granted, client.client_metadata
        )
        if in_id_token:
            id_claims["verified_claims"] = in_id_token
        if in_userinfo:
            userinfo_claims["verified_claims"] = in_userinfo
    scopes = scope_to_list(grant.request.scope) or []
    scope = " ".join(s for s in scopes if not s.startswith(SELFINFO_PREFIX) or s in granted)
    sub = server.services.subjects.for_client(login.account_id, client)
    approval = Approval(
        login, sub, sid, id_claims, userinfo_claims, scope, consent_id, tuple(granted)
    )
    return server.create_authorization_response(
        request=grant.request, grant_user=approval, grant=grant
    )
