"""The bank's web plumbing, shared by its pages (``signin``, ``application``, ``signing``).

Each page is rendered by ``page`` (language, CSRF token, strict CSP, no caching). Every failure
the applicant can meet ends on ``refused``: a page in Japanese and English that says what
happened and what to do, never a stack trace. What the bank holds about the applicant lives in
the server-side session (``sessions``), which the IdP's back-channel logout can end.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale

from .idp_client import IdpClient
from .protocol import IdpError, IdpUnavailable, Login
from .sessions import BankSession, SessionStore
from .settings import BankSettings

log = logging.getLogger("examples.relying_party")
bp = Blueprint("bank", __name__)

REFUSALS = {
    "access_denied": 403,
    "idp_error": 502,
    "idp_down": 503,
    "signing_declined": 403,
    "signing_failed": 502,
    "signature_invalid": 502,
    "session_ended": 401,
    "consent_needed": 403,
    "not_granted": 403,
    "login_expired": 401,
    "no_selfinfo": 404,
    "not_registered": 503,
    "bad_request": 400,
    "reverify_needed": 409,
}
"""Reasons of the friendly refusal page (templates/bank/refused.html) and their status."""


def settings() -> BankSettings:
    return current_app.extensions["bank.settings"]


def idp() -> IdpClient:
    return current_app.extensions["bank.idp"]


def sessions() -> SessionStore:
    return current_app.extensions["bank.sessions"]


def current_session() -> BankSession | None:
    return sessions().get(session.get("id"))


def start_session() -> BankSession:
    """A new bank session (a new id: nothing carries over from before)."""
    if old := session.get("id"):
        sessions().end(old)
    bank_session = sessions().create()
    session.clear()
    session["id"] = bank_session.id
    bank_session.data["csrf"] = secrets.token_urlsafe(32)
    return bank_session


def language() -> str:
    return str(get_locale() or "ja")


def _csp() -> str:
    issuer = urlsplit(settings().issuer)
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action 'self' {issuer.scheme}://{issuer.netloc}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _csp()
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def page(template: str, status: int = 200, *, path: str | None = None, **context) -> Response:
    """Render ``template``; the language switch links to ``path`` (default: this page)."""
    current = current_session()
    lang = language()
    other = "en" if lang == "ja" else "ja"
    html = render_template(
        f"bank/{template}",
        lang=lang,
        other_lang=other,
        switch_href=f"{path or request.path}?lang={other}",
        csrf_token=current.data.get("csrf", "") if current else "",
        signed_in=bool(current and current.data.get("login")),
        **context,
    )
    return secure(make_response(html, status))


def refused(reason: str, detail: str = "") -> Response:
    """The friendly page for ``reason``; ``detail`` is the IdP's error code, shown as is."""
    path = url_for("bank.refusal_preview", reason=reason)  # the switch must not replay this
    return page("refused.html", REFUSALS[reason], path=path, reason=reason, detail=detail)


def csrf_ok(current: BankSession | None) -> bool:
    sent = request.form.get("csrf_token", "")
    expected = current.data.get("csrf", "") if current else ""
    return bool(expected) and hmac.compare_digest(sent, expected)


def login_of(current: BankSession | None) -> Login | None:
    raw = current.data.get("login") if current else None
    return Login(**raw) if raw else None


def signed_in(view: Callable[..., Response]) -> Callable[..., Response]:
    """Run ``view(current, login, …)`` for a signed-in applicant only: anyone else (never
    signed in, or logged out by the IdP's back channel) gets the "session ended" page, and a
    POST without this session's CSRF token the "bad request" one."""

    @functools.wraps(view)
    def checked(**kwargs) -> Response:
        current = current_session()
        login = login_of(current)
        if login is None:
            return refused("session_ended")
        if request.method == "POST" and not csrf_ok(current):
            return refused("bad_request")
        return view(current, login, **kwargs)

    return checked


@bp.errorhandler(IdpUnavailable)
def _idp_down(error: IdpUnavailable) -> Response:
    log.warning("IdP unavailable: %s", error)
    return refused("idp_down")


@bp.errorhandler(IdpError)
def _idp_error(error: IdpError) -> Response:
    log.info("IdP error: %s", error.error)
    if error.error == "access_denied":
        return refused("access_denied", error.error)
    if error.error in ("invalid_state", "invalid_issuer"):  # not our request, or not our IdP
        return refused("bad_request", error.error)
    return refused("idp_error", error.error)


def verified_claims(claims: dict) -> dict:
    """The ``verified_claims`` element (an object, or the first of an array)."""
    found = claims.get("verified_claims") or {}
    return found[0] if isinstance(found, list) and found else found


def no_store(body: dict, status: int) -> Response:
    response = make_response(json.dumps(body), status)
    response.headers["Content-Type"] = "application/json"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/refused/<reason>")
def refusal_preview(reason: str) -> Response:
    """Every refusal page by name, for designers and the accessibility tests."""
    if reason not in REFUSALS:
        abort(404)
    return refused(reason)


@bp.app_template_filter("yen")
def yen(value: int) -> str:
    return f"{int(value):,}"
