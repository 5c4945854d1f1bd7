"""The citizen's side: review the document at the IdP, sign with the card, or decline.

Every step first checks that this browser's IdP session belongs to the person the service named:
the account's pairwise subject for the submitting client must equal the request's ``sub``.
Without a session the IdP's own card login runs first and comes back here; with someone else's
session the page refuses and shows nothing of the document.

Signing: the page asks ``prepare`` for the digest to sign (fixing this attempt's CMS
attributes), has the bridge sign it with the signing key and, in the same card session, the
authentication key (the citizen types the 4-digit PIN and the signing password on the bridge's
own screen, which shows the same check code), and posts the bridge's result to ``result``. The
IdP verifies both against its own prepared digest with a fresh revocation check, checks that the
card is the logged-in account's, builds the outputs and returns the browser to the service.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from authlib.common.urls import add_params_to_uri
from flask import current_app, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import metrics
from ..jpki.document import fingerprint
from ..jpki.errors import JpkiValidationError
from ..oidc.authorize import begin_own_login
from ..oidc.clients import find_client
from ..oidc.server import SERVER
from ..oidc.sessions import current_login
from ..services import services
from ..storage.db import db
from ..storage.documents import PENDING, DocumentRequest
from ..storage.ephemeral import EPHEMERAL
from ..storage.ratelimits import RATE_LIMITS, Limited
from ..web import security
from ..web.bridge import BRIDGE
from ..web.pages import finish, page
from ..web.refusals import Refusal
from ..web.services import in_language, localized
from . import preview, refusals, signing
from .longterm import LONG_TERM, LevelUnavailable
from .submission import for_bridge
from .verification import DOCUMENT_VERIFIER
from .views import bp

DOCUMENT_ID = re.compile(r"[A-Za-z0-9_-]{43}")
BRIDGE_TITLE, BRIDGE_SUMMARY, BRIDGE_SERVICE = 100, 500, 80
"""What the bridge accepts (bridge-protocol.md §8); the review page shows the texts in full."""
RESULT_MAX = 16 * 1024


def refused(refusal: Refusal, document: DocumentRequest | None = None) -> Response:
    return page("documents/refused.html", refusal.status, refusal=refusal, document=document)


def _gate(document_id: str, login_if_needed: bool = False):
    """(document, account id) if this browser's person may see it; else the response to send."""
    document = None
    if DOCUMENT_ID.fullmatch(document_id):
        document = db.session.get(DocumentRequest, document_id)
    if document is None:
        return refused(refusals.NOT_FOUND)
    found = current_login(services()[EPHEMERAL], time.time())
    if found is None:
        if login_if_needed:
            return begin_own_login(url_for("documents.review", document_id=document.id))
        return refused(refusals.ANOTHER_PERSON)
    client = find_client(document.client_id)
    if client is None:
        return refused(refusals.NOT_FOUND)
    subjects = services()[SERVER].services.subjects
    if subjects.for_client(found[1].account_id, client) != document.sub:
        return refused(refusals.ANOTHER_PERSON)
    status = document.current_status()
    if status != PENDING:
        return refused(refusals.FINISHED[status], document)
    return document, found[1].account_id


def _posted_gate(document_id: str):
    """``_gate`` for a form the review page posts, after its CSRF token."""
    if not security.csrf_ok():
        return refused(refusals.BAD_REQUEST)
    return _gate(document_id)


@bp.get("/documents/<document_id>/review")
def review(document_id: str) -> Response:
    gate = _gate(document_id, login_if_needed=True)
    if isinstance(gate, Response):
        return gate
    document, _ = gate
    verifier = services()[DOCUMENT_VERIFIER]
    if verifier is None:
        return refused(refusals.UNAVAILABLE, document)
    return page(
        "documents/review.html",
        document=document,
        fingerprint=fingerprint(signing.unb64url(document.digest)),
        summary_lines=document.summary.split("\n"),
        bridge_url=services()[BRIDGE].bridge_origin,
        origin=verifier.origin,
        expires=document.expires_at,
    )


@bp.get("/documents/<document_id>/document.pdf")
def view_pdf(document_id: str) -> Response:
    """The submitted PDF, for the citizen to read before signing."""
    gate = _gate(document_id)
    if isinstance(gate, Response):
        return gate
    document, _ = gate
    if document.pdf is None:
        return refused(refusals.NOT_FOUND, document)
    response = Response(document.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="document.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


@bp.get("/documents/<document_id>/preview.png")
def preview_png(document_id: str) -> Response:
    """The first page of the submitted PDF, as the review page shows it (``preview``)."""
    gate = _gate(document_id)
    if isinstance(gate, Response):
        return gate
    document, _ = gate
    try:
        png = preview.first_page(document)
    except preview.PreviewUnavailable as error:
        current_app.logger.warning("document %s: no preview: %s", document.id, error)
        return finish(Response(status=404 if document.pdf is None else 503))
    return finish(Response(png, mimetype="image/png"))


@bp.post("/documents/<document_id>/prepare")
def prepare(document_id: str) -> Response:
    """JSON for the page's bridge call: the digest to sign and the texts the bridge shows."""
    if not security.csrf_ok():
        return finish(jsonify(error="csrf")), 403
    gate = _gate(document_id)
    if isinstance(gate, Response):
        return finish(jsonify(error="gone")), 403
    document, _ = gate
    if services()[DOCUMENT_VERIFIER] is None:
        return finish(jsonify(error="unavailable")), 503
    try:
        _count_prepare(document.id)
    except Limited as limited:
        response = finish(jsonify(error="rate_limited", retry_after=limited.retry_after))
        response.headers["Retry-After"] = str(limited.retry_after)
        return response, 429
    try:
        to_sign = signing.prepare(document, dt.datetime.now(dt.UTC))
    except signing.AlreadyFinished:
        return finish(jsonify(error="gone")), 403
    body = {
        "digest": signing.b64url(to_sign),
        "fingerprint": fingerprint(to_sign),
        "title": for_bridge(in_language(document.titles, document.title), BRIDGE_TITLE),
        "summary": for_bridge(document.summary, BRIDGE_SUMMARY),
        "service": for_bridge(
            localized(document.client_id, "client_name", document.client_name), BRIDGE_SERVICE
        ),
    }
    return finish(jsonify(body))


def _count_prepare(document_id: str) -> None:
    """Count this prepare against ``limits.prepares_per_document``, before any work is done.

    Each prepare costs seconds of pyHanko's work on a PDF of up to 10 MB and a write of as much
    to the database, so a loop (a script with the citizen's cookie) must not run unbounded; one
    signing attempt needs one prepare, and a citizen retrying after a wrong signing password or
    a card problem needs a few. Per document, not per account or address: the cost is the
    document's own (its PDF), and a citizen's other documents stay signable. A failing store
    raises: no count, no prepare."""
    services()[RATE_LIMITS].hit("prepares_per_document", document_id)


@bp.post("/documents/<document_id>/result")
def result(document_id: str) -> Response:
    """The bridge's answer: verify, sign once, return the browser to the service."""
    gate = _posted_gate(document_id)
    if isinstance(gate, Response):
        return gate
    document, account_id = gate
    answer = request.form.get("result", "")
    verifier = services()[DOCUMENT_VERIFIER]
    if verifier is None:
        return refused(refusals.UNAVAILABLE, document)
    if not answer or len(answer) > RESULT_MAX:
        return refused(refusals.BAD_REQUEST, document)
    try:
        now, long_term = dt.datetime.now(dt.UTC), services()[LONG_TERM]
        signing.complete(document, account_id, answer, verifier, now, long_term)
    except JpkiValidationError as error:
        current_app.logger.info("document %s refused: %s", document.id, error.reason)
        metrics.document_refusals.labels(error.reason).inc()
        return refused(refusals.refusal_for(error), document)
    except LevelUnavailable as error:
        current_app.logger.warning("document %s not finished: %s", document.id, error)
        metrics.document_refusals.labels(error.reason).inc()
        return refused(refusals.TIMESTAMP_UNAVAILABLE, document)
    except signing.AnotherCard:
        current_app.logger.info("document %s refused: another_card", document.id)
        metrics.document_refusals.labels("another_card").inc()
        return refused(refusals.ANOTHER_CARD, document)
    except signing.AlreadyFinished:
        db.session.expire_all()
        status = db.session.get(DocumentRequest, document.id).current_status()
        return refused(refusals.FINISHED.get(status, refusals.GENERIC), document)
    metrics.documents.labels("signed").inc()
    return _back_to_service(document)


@bp.post("/documents/<document_id>/decline")
def decline(document_id: str) -> Response:
    gate = _posted_gate(document_id)
    if isinstance(gate, Response):
        return gate
    document, account_id = gate
    try:
        signing.decline(document, account_id)
    except signing.AlreadyFinished:
        return refused(refusals.GENERIC, document)
    metrics.documents.labels("declined").inc()
    return _back_to_service(document, error="access_denied")


@bp.get("/documents/<document_id>/locked")
def locked(document_id: str) -> Response:
    """The bridge said a PIN is locked (``?pin=auth``: the 4-digit one, else the signing
    password): how to get it reset (nothing was signed)."""
    gate = _gate(document_id)
    if isinstance(gate, Response):
        return gate
    which = refusals.AUTH_PIN_LOCKED if request.args.get("pin") == "auth" else refusals.PIN_LOCKED
    return refused(which, gate[0])


def _back_to_service(document: DocumentRequest, error: str | None = None) -> Response:
    params = [("document_id", document.id)]
    if error:
        params.append(("error", error))
    if document.state:
        params.append(("state", document.state))
    return finish(redirect(add_params_to_uri(document.redirect_uri, params), code=303))
