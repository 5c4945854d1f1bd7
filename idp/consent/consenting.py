"""The consent step between a proven login and the code.

``ask`` is the ``ConsentStep`` of ``idp.oidc.approval``: this package registers it when the app is
built, and the authorization endpoint calls it after every proven login (a fresh one or the
session's), so the protocol layer never imports consent.

``ask`` turns the request into a ``ConsentRequest``. A remembered consent (live, same client,
same purpose, nothing per-request in it) that covers every item answers at once; otherwise the
request waits in the ephemeral store under ``consent:<id>``, bound to this browser, while the
``ConsentScreen`` asks the citizen. ``finish_consent`` holds the stored request (no second answer
can take it), checks the decision against it, **commits the Consent row first** and only then
issues the code, so no service holds a code whose approval is not on record; a failed commit
releases the request, so the citizen can approve again. ``issue`` releases only what was granted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import secrets
import time

from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError
from flask import abort

from .. import audit
from ..oidc import verified_claims
from ..oidc.authenticator import ACR_SIGN_IDENTITY, ACR_VALUES, LoginResult
from ..oidc.claims import parse_claims_request
from ..oidc.server import SERVER
from ..services import services
from ..storage import outages
from ..storage.consents import Consent
from ..storage.db import db
from ..storage.signing_certificates import note_signing_certificate
from ..storage.verifications import record_verification
from ..web import transactions
from .decisions import (
    CONSENT_SCREEN,
    ConsentDecision,
    ConsentItem,
    ConsentRequest,
    content_digest,
    decision_problem,
    needs_card,
)
from .issuing import issue
from .requested import purpose_of, remembered, requested_items, retention_of

log = logging.getLogger("idp.consent")
PREFIX = "consent:"
REMEMBER_SECONDS = 180 * 24 * 3600
"""How long a consent without per-request items is remembered: about six months."""


def ask(server, store, grant, redirect_uri: str, login: LoginResult, sid: str, acceptable):
    """Issue at once under a remembered consent, or show the consent screen."""
    client, data, now = grant.request.client, grant.request.payload.data, int(time.time())
    items = requested_items(grant, login)
    purpose = purpose_of(grant)
    identity_required = login.acr not in acceptable and ACR_SIGN_IDENTITY in acceptable
    per_request = identity_required or any(item.per_request for item in items)
    prompts = (data.get("prompt") or "").split()
    if not per_request and "consent" not in prompts:
        found = remembered(login.account_id, client.client_id, items, purpose, now)
        if found is not None:
            return issue(server, grant, login, sid, found, tuple(i.id for i in items))
    if "none" in prompts:
        error = ConsentRequiredError(redirect_uri=redirect_uri)
        return server.authorization_error(grant.request, error)
    lifetime = server.services.config.tokens.refresh_token if per_request else REMEMBER_SECONDS
    request = ConsentRequest(
        id=secrets.token_urlsafe(32),
        account_id=login.account_id,
        client_id=client.client_id,
        client_name=client.name,
        purpose=purpose,
        retention_days=retention_of(client),
        items=items,
        expires_at=now + lifetime,
        identity_required=identity_required,
        ui_locales=str(data.get("ui_locales") or "")[:100],
    )
    record = {
        "params": dict(data.items()),
        "pushed": getattr(grant.request.payload, "pushed", False),
        "acr": list(acceptable),
        "login": dataclasses.asdict(login),
        "sid": sid,
        "request": dataclasses.asdict(request),
    }
    ttl = server.services.config.tokens.login_transaction
    store.set(PREFIX + request.id, json.dumps(transactions.bind(record)).encode(), ttl)
    return services()[CONSENT_SCREEN].begin(request)


def _request_of(record: dict) -> ConsentRequest:
    fields = record["request"]
    items = tuple(ConsentItem(**item) for item in fields["items"])
    return ConsentRequest(**{**fields, "items": items})


def pending_consent(transaction_id: str) -> ConsentRequest | None:
    """The live consent transaction if this browser started it; not consumed."""
    record = transactions.pending(services()[SERVER].services.store(), PREFIX, transaction_id)
    return _request_of(record) if record else None


def _resume(transaction_id: str):
    """(record, grant, redirect_uri) of a consent transaction, held (``EphemeralStore.hold``:
    no other answer can take it meanwhile); or a response, the transaction then spent."""
    server = services()[SERVER]
    store = server.services.store()
    key = PREFIX + transaction_id
    raw = store.hold(key) if transactions.valid_id(transaction_id) else None
    record = json.loads(raw) if raw else None
    if record is None or not transactions.is_mine(record):
        if record is not None:
            store.release(key)  # another browser's: it changes nothing
        abort(
            400, "This request has expired or was already answered. Start again from the service."
        )
    request = server.create_params_request(record["params"], record["pushed"])
    try:
        grant = server.get_authorization_grant(request)
        return record, grant, grant.validate_authorization_request()
    except OAuth2Error as error:
        store.drop(key)
        return server.authorization_error(request, error)


def finish_consent(transaction_id: str, decision: ConsentDecision):
    """Record the approval durably, then issue the code with what was granted.

    The transaction is held, not taken, until the Consent row is committed: if the commit
    fails (PostgreSQL down), it is released and the citizen can give the same approval again."""
    server = services()[SERVER]
    store = server.services.store()
    resumed = _resume(transaction_id)
    if not isinstance(resumed, tuple):
        return resumed
    record, grant, redirect_uri = resumed
    request = _request_of(record)
    login = LoginResult(**{**record["login"], "amr": tuple(record["login"]["amr"])})
    problem = decision_problem(request, decision)
    if problem is None and server.services.store().get("session:" + record["sid"]) is None:
        problem = "the session ended before the approval"
    if decision.identity is not None:
        login = dataclasses.replace(login, acr=ACR_SIGN_IDENTITY)
    if problem is None and not _reaches(login.acr, record["acr"]):
        problem = "the approval did not reach the requested acr"
    if problem is not None:
        log.warning("consent refused: %s", problem)
        store.drop(PREFIX + transaction_id)
        return server.authorization_error(
            grant.request, AccessDeniedError(problem, redirect_uri=redirect_uri)
        )
    try:
        consent, framework = _record(request, decision, grant)
        consent_id = consent.id  # read before the commit expires it
        db.session.commit()
    except Exception:
        with contextlib.suppress(*outages.REDIS):
            store.release(PREFIX + transaction_id)
        raise
    store.drop(PREFIX + transaction_id)
    granted = tuple(sorted(set(decision.granted)))
    _audit(request, consent_id, granted, decision, framework)
    return issue(server, grant, login, record["sid"], consent_id, granted, decision.identity)


def _reaches(acr: str, acceptable: list[str]) -> bool:
    """The acr is one the request accepts, or stronger (``ACR_VALUES`` is weakest first)."""
    return acr in acceptable or ACR_VALUES.index(acr) >= min(map(ACR_VALUES.index, acceptable))


def _record(
    request: ConsentRequest, decision: ConsentDecision, grant
) -> tuple[Consent, str | None]:
    """The Consent row, and the identity verification the law asks to keep (method, time,
    certificate, trust framework; never the four facts), added for one commit; and the trust
    framework."""
    granted = sorted(set(decision.granted))
    consent = Consent(
        id=secrets.token_urlsafe(32),
        account_id=request.account_id,
        client_id=request.client_id,
        client_name=request.client_name,
        items=json.dumps(granted),
        purpose=request.purpose,
        retention_days=request.retention_days,
        per_request=needs_card(granted) or decision.identity is not None,
        auth_method=decision.auth_method,
        content_digest=content_digest(request, granted),
        evidence=json.dumps(dict(decision.evidence)) if decision.evidence else None,
        created_at=int(time.time()),
        expires_at=request.expires_at,
    )
    db.session.add(consent)
    framework = None
    if decision.identity is not None:
        metadata = grant.request.client.client_metadata
        claims = parse_claims_request(grant.request.payload.data.get("claims"))
        framework = verified_claims.check_request(claims, metadata)
        framework = framework or metadata.get("trust_framework")
        record_verification(
            request.account_id,
            request.client_id,
            consent.id,
            decision.identity,
            framework,
            consent.created_at,
        )
        note_signing_certificate(
            request.account_id,
            decision.identity.issuer,
            decision.identity.serial,
            consent.created_at,
            decision.identity.issuer_hash or None,
        )
    return consent, framework


def _audit(
    request: ConsentRequest,
    consent_id: str,
    granted: tuple[str, ...],
    decision: ConsentDecision,
    framework: str | None,
) -> None:
    """The approval, and the identity it proved, once they are on record."""
    who = {"client_id": request.client_id, "account_id": request.account_id}
    items, method = list(granted), decision.auth_method
    audit.emit(audit.CONSENT_GIVEN, **who, consent_id=consent_id, items=items, auth_method=method)
    if (identity := decision.identity) is not None:
        card = audit.certificate_ref(identity.issuer, identity.serial)
        audit.emit(
            audit.IDENTITY_VERIFIED,
            **who,
            consent_id=consent_id,
            certificate=card,
            trust_framework=framework,
        )


def deny_consent(transaction_id: str):
    """The citizen declined: ``access_denied`` to the client, nothing recorded."""
    resumed = _resume(transaction_id)
    if not isinstance(resumed, tuple):
        return resumed
    _record_unused, grant, redirect_uri = resumed
    services()[SERVER].services.store().drop(PREFIX + transaction_id)
    error = AccessDeniedError("the person declined the request", redirect_uri=redirect_uri)
    return services()[SERVER].authorization_error(grant.request, error)
