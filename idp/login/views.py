"""The card login's pages: the login page, its challenge, the result, refusals.

Every route first finds its login transaction for *this* browser (``transactions.load``: one read of
the core's record); a missing or foreign one gets the "start again from the service" page.
``finish_login`` and ``cancel_login`` consume that record, which ends the transaction for every page
at once. Bad input never changes anything but what the JPKI core itself decides (a malformed result
still uses up the challenge).
The audit stream (``idp.audit``) names the card by ``audit.certificate_ref`` only: no
certificate, challenge or result.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from flask import g, jsonify, make_response, redirect, url_for
from flask import request as http
from werkzeug.wrappers import Response

from .. import audit, metrics
from ..jpki.errors import JpkiValidationError
from ..oidc.authenticator import ACR_CARD_AUTH, AMR_CARD, LoginResult
from ..oidc.authorize import cancel_login, finish_login
from ..services import services
from ..storage.ephemeral import EPHEMERAL
from ..storage.ratelimits import RATE_LIMITS, Limited
from ..web import refusals as card_refusals
from ..web.bridge import BRIDGE
from ..web.pages import blueprint, finish, page
from ..web.security import csrf_ok
from . import refusals, transactions
from .accounts import account_for, issuer_hash, serial_of
from .refusals import refused_page
from .verification import CARD_VERIFIER, presented_ref

log = logging.getLogger("idp.login")
bp = blueprint("login", __name__)


def _too_many(limited: Limited, certificate: str | None = None) -> Response:
    """The person's page for a rate limit: 429 and ``Retry-After``, in their language."""
    audit.emit(audit.LOGIN_REFUSED, reason="rate_limited", limit=limited.limit,
               certificate=certificate)  # fmt: skip
    metrics.card_login_refusals.labels("rate_limited").inc()
    response = page("errorpages/error.html", 429, kind=429)
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


def _login(transaction: str) -> transactions.CardLogin | None:
    login = transactions.load(services()[EPHEMERAL], transaction)
    if login is not None:
        g.ui_locales = login.ui_locales
    return login


@bp.get("/login/card/<transaction>")
def card_page(transaction: str) -> Response:
    login = _login(transaction)
    if login is None:
        return refused_page(refusals.TRANSACTION_GONE)
    try:
        services()[RATE_LIMITS].hit("challenges_per_login", login.transaction)
    except Limited as limited:
        return _too_many(limited)
    verifier = services()[CARD_VERIFIER]
    return page(
        "login/card.html",
        login=login,
        bridge_url=services()[BRIDGE].bridge_url,
        origin=verifier.origin,
        # The first attempt's challenge comes with the page: one request fewer per login.
        # Only this transaction's browser gets the page (``transactions.load``).
        challenge=verifier.challenge(login.transaction),
        challenge_ttl=int(verifier.challenge_ttl),
    )


@bp.post("/login/card/<transaction>/challenge")
def card_challenge(transaction: str) -> Response:
    """A fresh challenge for a later attempt, or once the page's own has expired (JSON,
    script only)."""
    login = _login(transaction)
    if login is None or not csrf_ok():
        response = jsonify(error="forbidden")
        response.status_code = 403
        return finish(response)
    try:
        services()[RATE_LIMITS].hit("challenges_per_login", login.transaction)
    except Limited as limited:
        response = jsonify(error="rate_limited", retry_after=limited.retry_after)
        response.status_code = 429
        response.headers["Retry-After"] = str(limited.retry_after)
        return finish(response)
    return finish(jsonify(challenge=services()[CARD_VERIFIER].challenge(login.transaction)))


@bp.get("/login/card/<transaction>/alive")
def card_alive(transaction: str) -> Response:
    """Whether this browser's login is still going on (204) or not (403: finished, cancelled,
    expired, or another browser's), asked by the page before it starts the bridge with the
    challenge it came with, so that a stale tab asks for no PIN (JSON, script only). Changes
    nothing and counts against no limit."""
    if _login(transaction) is None:
        response = jsonify(error="forbidden")
        response.status_code = 403
        return finish(response)
    return finish(Response(status=204))


@bp.post("/login/card/<transaction>/result")
def card_result(transaction: str):
    login = _login(transaction)
    if login is None:
        return refused_page(refusals.TRANSACTION_GONE)
    if not csrf_ok():
        audit.emit(audit.LOGIN_REFUSED, reason="csrf")
        metrics.card_login_refusals.labels("csrf").inc()
        return refused_page(card_refusals.BAD_REQUEST, login)
    answer, address = http.form.get("result", ""), http.remote_addr or "unknown"
    # Failures count against the address and the certificate (its issuer and serial, as the
    # audit stream names it), both read before verification: a held-back card costs no
    # revocation check, and nothing is used up (the challenge waits for a later attempt).
    failures = [("failed_logins_per_ip", address)]
    if (certificate := presented_ref(answer)) is not None:
        failures.append(("failed_logins_per_certificate", certificate))
    try:
        services()[RATE_LIMITS].check(*failures)
    except Limited as limited:
        return _too_many(limited, certificate)
    # The login's time is taken before the card check: a revocation the status watcher records
    # while this check reads a "good" answer cached just before then is recorded at or after
    # it, so the card-status standing ends this login too (docs/card-status.md §3).
    checked_at = int(time.time())
    try:
        validated = services()[CARD_VERIFIER].verify(login.transaction, answer)
    except JpkiValidationError as error:
        audit.emit(audit.LOGIN_REFUSED, reason=error.reason, certificate=certificate)
        metrics.card_login_refusals.labels(error.reason).inc()
        if not isinstance(error, card_refusals.SERVICE_PROBLEMS):  # our outage is not their failure
            for limit, identifier in failures:
                services()[RATE_LIMITS].count(limit, identifier)
        return refused_page(card_refusals.refusal_for(error), login)
    account = account_for(validated, dt.datetime.now(dt.UTC))
    result = LoginResult(
        account_id=account,
        acr=ACR_CARD_AUTH,
        auth_time=checked_at,
        amr=AMR_CARD,
        certificate=f"{issuer_hash(validated)}:{serial_of(validated)}",
    )
    audit.emit(
        audit.LOGIN_ACCEPTED,
        account_id=account,
        certificate=audit.ref_of(validated.certificate),
        revocation=validated.revocation.source,
    )
    metrics.card_logins.labels(validated.revocation.source).inc()
    return finish(make_response(finish_login(login.transaction, result)))


@bp.get("/login/card/<transaction>/result")
def card_result_again(transaction: str) -> Response:
    """A reload or language switch of the result's address: back to the login page."""
    if _login(transaction) is None:
        return refused_page(refusals.TRANSACTION_GONE)
    return finish(redirect(url_for("login.card_page", transaction=transaction), 303))


@bp.post("/login/card/<transaction>/cancel")
def cancel(transaction: str) -> Response:
    """The refusal page's "Back to the service": the login ends and the relying party gets
    ``access_denied``. A POST with CSRF, so no link elsewhere can end someone's login."""
    login = _login(transaction)
    if login is None:
        return refused_page(refusals.TRANSACTION_GONE)
    if not csrf_ok():
        log.info("card login cancel refused: csrf")
        return refused_page(card_refusals.BAD_REQUEST, login)
    verifier = services()[CARD_VERIFIER]
    if verifier is not None:
        verifier.discard(login.transaction)
    log.info("card login cancelled by the person")
    return finish(make_response(cancel_login(login.transaction)))


@bp.get("/login/card/<transaction>/refused/<reason>")
def refused(transaction: str, reason: str) -> Response:
    """A refusal shown again (the other language), or a bridge failure that ends the login (a
    locked PIN) on its own page. Nothing changes: the page only explains."""
    login = _login(transaction)
    if login is None:
        return refused_page(refusals.TRANSACTION_GONE)
    return refused_page(refusals.SHOWN_AGAIN.get(reason, card_refusals.GENERIC), login)
