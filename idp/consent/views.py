"""The consent screen's pages: the request, the decision, and the card step.

``GET /consent/<id>`` shows one request: the service's registered name, its purpose, how long it
keeps the data and each item in plain words, with the purpose the request gave for that claim
(OIDC4IDA per-claim ``purpose``, the service's text: autoescaped like every value); optional
items ticked, required ones marked. The form posts the ticked items with Approve or Deny
(``POST /consent/<id>``). Items that need a card signature (self-information, verified
identity) are approved through the page's script instead: ``/challenge`` issues the bound
challenge, the bridge signs it, ``/approve`` verifies it. Every route first finds the pending
consent of *this* browser (``pending_consent``); every POST checks CSRF; a refusal changes
nothing. Logs carry reasons only, never items, accounts or certificates.
"""

from __future__ import annotations

import logging

from flask import g, jsonify, make_response, redirect, url_for
from flask import request as http
from werkzeug.wrappers import Response

from .. import audit, metrics
from ..jpki.errors import JpkiValidationError
from ..login.verification import CARD_VERIFIER
from ..services import services
from ..storage.ephemeral import EPHEMERAL
from ..web import refusals as card_refusals
from ..web.bridge import BRIDGE, service_name
from ..web.pages import blueprint, finish, page
from ..web.security import csrf_ok
from . import cardstep, refusals
from .consenting import deny_consent, finish_consent, pending_consent
from .decisions import AUTH_SESSION, ConsentDecision, ConsentRequest
from .items import describe, kind, verified_facts

log = logging.getLogger("idp.consent")
bp = blueprint("consent", __name__)
KEYS = (cardstep.KEY_AUTH, cardstep.KEY_SIGN)


def _pending(transaction: str) -> ConsentRequest | None:
    request = pending_consent(transaction)
    if request is not None:
        g.ui_locales = request.ui_locales
    return request


def granted_items(request: ConsentRequest, posted: list[str]) -> tuple[str, ...] | None:
    """The approved items in the request's order, or None when the form was tampered with:
    an item that was not requested, or a required one left out."""
    known = {item.id for item in request.items}
    chosen = set(posted)
    required = {item.id for item in request.items if item.required}
    if not chosen <= known or not required <= chosen:
        return None
    return tuple(item.id for item in request.items if item.id in chosen)


def refused_page(
    refusal: card_refusals.Refusal, request: ConsentRequest | None, key: str | None = None
) -> Response:
    """The page explaining ``refusal``; with a pending request it offers the way back to it and
    to the service."""
    path = None
    if request is not None and refusal.kind in refusals.SHOWN_AGAIN:
        path = url_for(
            "consent.refused",
            transaction=request.id,
            reason=refusal.kind,
            key=key if key in KEYS else None,
        )
    return page(
        "consent/refused.html",
        refusal.status,
        path=path,
        refusal=refusal,
        login=None,
        consent=request,
        key=key,
    )


@bp.get("/consent/<transaction>")
def screen(transaction: str) -> Response:
    request = _pending(transaction)
    if request is None:
        return refused_page(refusals.GONE, None)
    items = [
        {
            "id": item.id,
            "label": describe(item.id),
            "kind": kind(item.id),
            "required": item.required,
            "card": item.per_request,
            "purpose": item.purpose,
        }
        for item in request.items
    ]
    verifier = services()[CARD_VERIFIER]
    return page(
        "consent/consent.html",
        consent=request,
        items=items,
        service=service_name(request.client_name),
        verified_facts=verified_facts([item.id for item in request.items]),
        bridge_url=services()[BRIDGE].bridge_url,
        origin=verifier.origin if verifier is not None else "",
    )


def _posted(transaction: str) -> tuple[ConsentRequest | None, Response | None]:
    """(the pending request, None) for a form this browser posted with its CSRF token; else
    (request or None, the refusal page)."""
    request = _pending(transaction)
    if request is None:
        return None, refused_page(refusals.GONE, None)
    if not csrf_ok():
        log.info("consent refused: csrf")
        metrics.consent_refusals.labels("csrf").inc()
        return request, refused_page(card_refusals.BAD_REQUEST, request)
    return request, None


@bp.post("/consent/<transaction>")
def decide(transaction: str) -> Response:
    """Approve (no card needed) or deny, from the form."""
    request, refusal = _posted(transaction)
    if refusal is not None:
        return refusal
    action = http.form.get("action")
    if action == "deny":
        metrics.consent_decisions.labels("denied", "none").inc()
        response = make_response(deny_consent(request.id))
        audit.emit(audit.CONSENT_DENIED, client_id=request.client_id, account_id=request.account_id)
        return finish(response)
    granted = granted_items(request, http.form.getlist("item"))
    if action != "approve" or granted is None:
        log.info("consent refused: altered form")
        metrics.consent_refusals.labels("altered_form").inc()
        return refused_page(card_refusals.BAD_REQUEST, request)
    if cardstep.key_for(request, granted) is not None:
        log.info("consent refused: card step skipped")
        metrics.consent_refusals.labels("card_step_skipped").inc()
        return refused_page(refusals.CARD_NEEDED, request)
    decision = ConsentDecision(granted, AUTH_SESSION)
    metrics.consent_approved(None)
    return finish(make_response(finish_consent(request.id, decision)))


def _json_error(error: str, status: int) -> Response:
    response = jsonify(error=error)
    response.status_code = status
    return finish(response)


@bp.post("/consent/<transaction>/challenge")
def challenge(transaction: str) -> Response:
    """The bound challenge for approving the posted items (JSON, script only)."""
    request = _pending(transaction)
    if request is None or not csrf_ok():
        return _json_error("forbidden", 403)
    granted = granted_items(request, http.form.getlist("item"))
    if granted is None or cardstep.key_for(request, granted) is None:
        return _json_error("bad_request", 400)
    verifier = services()[CARD_VERIFIER]
    if verifier is None:
        return _json_error("not_configured", 503)
    issued, step = cardstep.begin(services()[EPHEMERAL], verifier, request, granted)
    return finish(
        jsonify(challenge=issued, key=step.key, service=service_name(request.client_name))
    )


@bp.post("/consent/<transaction>/approve")
def approve(transaction: str) -> Response:
    """The card's answer for the approval: verified, checked against the items, then recorded."""
    request, refusal = _posted(transaction)
    if refusal is not None:
        return refusal
    granted = granted_items(request, http.form.getlist("item"))
    if granted is None:
        log.info("consent refused: altered form")
        metrics.consent_refusals.labels("altered_form").inc()
        return refused_page(card_refusals.BAD_REQUEST, request)
    verifier = services()[CARD_VERIFIER]
    if verifier is None:
        return refused_page(card_refusals.NOT_CONFIGURED, request)
    key = cardstep.key_for(request, granted)
    try:
        decision = cardstep.finish(
            services()[EPHEMERAL], verifier, request, granted, http.form.get("result", "")
        )
    except JpkiValidationError as error:
        log.info("consent card step refused: %s", error.reason)
        metrics.card_step(key, error.reason)
        return refused_page(card_refusals.refusal_for(error), request, key)
    except cardstep.StepRefused as refused:
        log.info("consent card step refused: %s", refused.kind)
        metrics.card_step(key, refused.kind)
        return refused_page(refusals.OWN[refused.kind], request, key)
    metrics.consent_approved(key)
    return finish(make_response(finish_consent(request.id, decision)))


@bp.get("/consent/<transaction>/approve")
def back_to_screen(transaction: str) -> Response:
    """A reload of the card answer's address: back to the request."""
    return finish(redirect(url_for("consent.screen", transaction=transaction), 303))


@bp.get("/consent/<transaction>/refused/<reason>")
@bp.get("/consent/<transaction>/refused/<reason>/<key>")
def refused(transaction: str, reason: str, key: str | None = None) -> Response:
    """A refusal shown again (the other language), or a bridge failure that ends the card step
    on its own page (a locked PIN); ``key`` is the card key the step used. Nothing changes: the
    page only explains."""
    request = _pending(transaction)
    if request is None:
        return refused_page(refusals.GONE, None)
    refusal = refusals.SHOWN_AGAIN.get(reason, card_refusals.GENERIC)
    return refused_page(refusal, request, key if key in KEYS else None)
