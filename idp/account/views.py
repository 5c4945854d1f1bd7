"""The account pages: what each service received, the consents, signing out.

Every page needs this browser's IdP session; without one a GET starts the card login and comes
back, a POST changes nothing and goes back to the overview. Every POST checks the CSRF token.
Everything shown is read for the session's account only (``records``); a consent of anyone else
is "not found", exactly like one that does not exist. The pages stay thin: revoking is
``idp.consent.withdrawal``, signing out is ``idp.oidc.logout``.
"""

from __future__ import annotations

import logging
import time

from flask import make_response, redirect, session, url_for
from flask import request as http
from werkzeug.wrappers import Response

from ..cardstatus.presentation import card_section
from ..consent.withdrawal import revoke_consent
from ..oidc.authenticator import LoginResult
from ..oidc.authorize import begin_own_login
from ..oidc.logout import end_all_sessions, end_idp_session
from ..oidc.server import SERVER
from ..oidc.sessions import current_login
from ..services import services
from ..storage.consents import Consent
from ..web.pages import blueprint, finish, page
from ..web.security import csrf_ok
from . import records
from .presentation import helpers

log = logging.getLogger("idp.account")
bp = blueprint("account", __name__)


@bp.context_processor
def _helpers() -> dict:
    return helpers()


def _login() -> tuple[str, LoginResult] | None:
    return current_login(services()[SERVER].services.store(), time.time())


def _log_in_first() -> Response:
    """The card login, then back to the page asked for (its query too)."""
    return finish(make_response(begin_own_login(http.full_path.rstrip("?"))))


def _back_to_overview() -> Response:
    return finish(redirect(url_for("account.overview"), 303))


def _not_found() -> Response:
    return page("account/problem.html", 404, problem="not_found")


def _bad_form() -> Response:
    return page("account/problem.html", 400, problem="bad_request")


def _own_consent(consent_id: str) -> Consent | Response:
    """The session's own consent ``consent_id`` for a page that shows it; else the response to
    send (the card login first, or "not found")."""
    found = _login()
    if found is None:
        return _log_in_first()
    consent = records.own_consent(found[1].account_id, consent_id)
    return _not_found() if consent is None else consent


def _page_number() -> int:
    raw = http.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


@bp.get("/")
def home() -> Response:
    """The IdP's own home: what this service is, and the way to the account page. Where the
    IdP's own login goes back to when the person gives up."""
    return page("account/home.html")


@bp.get("/account")
def overview() -> Response:
    found = _login()
    if found is None:
        return _log_in_first()
    account_id, now = found[1].account_id, int(time.time())
    signing = records.signing_certificates(account_id)
    return page(
        "account/overview.html",
        consents=records.active_consents(account_id, now),
        history=records.history(account_id, _page_number()),
        signing=signing,
        card=card_section(account_id, found[1].certificate, signing),
        now=now,
    )


@bp.get("/account/consents/<consent_id>/revoke")
def confirm_revoke(consent_id: str) -> Response:
    consent = _own_consent(consent_id)
    if isinstance(consent, Response):
        return consent
    if consent.revoked_at is not None:
        return finish(redirect(url_for("account.revoked", consent_id=consent.id), 303))
    return page("account/revoke.html", consent=consent)


@bp.post("/account/consents/<consent_id>/revoke")
def revoke(consent_id: str) -> Response:
    found = _login()
    if found is None:
        return _back_to_overview()
    if not csrf_ok():
        return _bad_form()
    consent = records.own_consent(found[1].account_id, consent_id)
    if consent is None:
        return _not_found()
    revoke_consent(services()[SERVER].services, consent, int(time.time()))
    return finish(redirect(url_for("account.revoked", consent_id=consent.id), 303))


@bp.get("/account/consents/<consent_id>/revoked")
def revoked(consent_id: str) -> Response:
    consent = _own_consent(consent_id)
    if isinstance(consent, Response):
        return consent
    if consent.revoked_at is None:
        return _back_to_overview()
    return page("account/revoked.html", consent=consent)


@bp.post("/account/signout")
def sign_out() -> Response:
    found = _login()
    if found is not None:
        if not csrf_ok():
            return _bad_form()
        end_idp_session(services()[SERVER].services, found[0])
    session.clear()
    return finish(redirect(url_for("account.signed_out"), 303))


@bp.post("/account/signout-everywhere")
def sign_out_everywhere() -> Response:
    found = _login()
    if found is None:
        return _back_to_overview()
    if not csrf_ok():
        return _bad_form()
    shared = services()[SERVER].services
    ended = end_all_sessions(shared, found[1].account_id)
    if shared.store().get("session:" + found[0]) is not None:
        end_idp_session(shared, found[0])  # this one in any case, even if the index missed it
    session.clear()
    log.info("signed out everywhere: %d sessions", ended)
    return finish(redirect(url_for("account.signed_out", everywhere=1), 303))


@bp.get("/account/signed-out")
def signed_out() -> Response:
    """Says what happened; shows nothing of the account (there is no session any more)."""
    return page("account/signed_out.html", everywhere=http.args.get("everywhere") == "1")
