"""The self-information resource server: ``GET /selfinfo/v1/<category>``.

A read needs all of: our access token, unexpired and still granted, with its DPoP proof when
it is key-bound (``idp.oidc.userinfo.authenticate``: signature, ``typ`` at+jwt, ``iss`` and
``aud`` the issuer, ``exp``, the grant record, the proof); the scope ``selfinfo:<category>``
(else 403 insufficient_scope); and the consent the token was issued under, still live and
covering that category (else 401 invalid_token: the token is of no more use, the service must
ask the citizen again). Withdrawing the consent therefore stops the very next read.

Each answer is the category's document in an envelope (``schemas/response.json``) with the
pairwise ``sub``; each delivery is an access record (who, what, when, under which consent).
Only the category and the client are logged, never the data.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint, Response, jsonify, request

from .. import audit, metrics
from ..oidc.clients import serving_client
from ..oidc.dpop import InvalidDPoPProofError
from ..oidc.endpoints import endpoint_url
from ..oidc.server import SERVER
from ..oidc.userinfo import authenticate
from ..services import services
from ..storage.consents import Consent, live_consent, record_access
from ..storage.db import db
from ..storage.selfinfo import find_self_information
from .categories import RESPONSE_SCHEMA, is_category, schema, scope_of
from .challenges import challenge, no_store, problem

bp = Blueprint("selfinfo", __name__, url_prefix="/selfinfo/v1")
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
KIND = "selfinfo"
"""``AccessRecord.kind`` of a self-information read."""
WITHDRAWN = "the consent for this data was withdrawn or has expired; ask the person again"


class _InsufficientScope(Exception):
    """The token lacks the category's scope (403, RFC 6750 §3.1)."""


@bp.route("/<category>", methods=METHODS)
def read(category: str) -> Response:
    if request.method != "GET":
        response = problem(405, "invalid_request", "the self-information API answers GET only")
        response.headers["Allow"] = "GET"
        return response
    if not is_category(category):
        return problem(404, "not_found", "no such self-information category")
    shared = services()[SERVER].services
    url = endpoint_url("selfinfo.read", category=category)
    scheme = _presented_scheme()
    try:
        grant = authenticate(shared, request.headers, "GET", url)
        scheme = "DPoP" if grant.get("jkt") else "Bearer"
        consent, client_name = _authorised(grant, category)
    except InvalidDPoPProofError as e:
        return challenge(401, "invalid_dpop_proof", e.description or "bad DPoP proof", "DPoP")
    except InvalidTokenError as e:
        if scheme is None:
            return challenge(401, None, "a Bearer or DPoP access token is required", None)
        return challenge(401, "invalid_token", e.description or "invalid token", scheme)
    except _InsufficientScope:
        description = f"this access token does not carry the scope {scope_of(category)}"
        return challenge(403, "insufficient_scope", description, scheme, scope_of(category))
    row = find_self_information(grant["account_id"], category)
    if row is None:
        return problem(404, "not_found", f"no {category} information is held for this person")
    body = {"sub": grant["sub"], "category": category, "as_of": row.as_of, "data": row.document()}
    record_access(
        grant["account_id"], grant["client_id"], client_name, KIND, scope_of(category), consent.id
    )
    db.session.commit()
    audit.emit(
        audit.DATA_PROVIDED,
        client_id=grant["client_id"],
        account_id=grant["account_id"],
        via="selfinfo",
        items=[scope_of(category)],
    )
    metrics.selfinfo_reads.labels(category).inc()
    return no_store(jsonify(body))


def _presented_scheme() -> str | None:
    """The scheme the request used, None when it presented no token at all."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if not scheme and not token:
        return None
    return "DPoP" if scheme.lower() == "dpop" else "Bearer"


def _authorised(grant: dict, category: str) -> tuple[Consent, str]:
    """The live consent that covers this read, and the client's name; raises otherwise."""
    scope = scope_of(category)
    if scope not in (scope_to_list(grant.get("scope")) or []):
        raise _InsufficientScope
    client = serving_client(grant.get("client_id"))
    if client is None:
        raise InvalidTokenError("the client of this access token no longer exists")
    consent = live_consent(grant.get("consent_id"))
    if (
        consent is None
        or not grant.get("account_id")
        or consent.account_id != grant["account_id"]
        or consent.client_id != grant["client_id"]
        or scope not in consent.granted()
    ):
        raise InvalidTokenError(WITHDRAWN)
    return consent, client.name


@bp.get("/schemas/<name>.json")
def schema_document(name: str) -> Response:
    """The published schemas: each category's data, and the response envelope."""
    if not (is_category(name) or name == RESPONSE_SCHEMA):
        return problem(404, "not_found", "no such schema")
    response = jsonify(schema(name))
    response.mimetype = "application/schema+json"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
