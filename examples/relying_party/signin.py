"""Signing in and out: PAR to the IdP's card login and the callback, RP-initiated logout, and
the IdP's back-channel logout (``idp_client`` speaks the protocol)."""

from __future__ import annotations

import secrets
from dataclasses import asdict

from flask import Response, redirect, request, session, url_for

from . import web
from .protocol import Authorization, IdpUnavailable, InvalidToken
from .settings import PURPOSE
from .web import bp, log


@bp.get("/")
def index() -> Response:
    return web.page("index.html", registered=bool(web.idp().client_id))


@bp.post("/apply")
def apply() -> Response:
    """Push the authorization request and send the browser to the IdP's login page."""
    if not web.idp().client_id:
        return web.refused("not_registered")
    current = web.start_session()
    pending = web.idp().begin(web.settings().redirect_uri, web.language(), PURPOSE)
    current.data["pending"] = asdict(pending)
    return web.secure(redirect(pending.url, 303))


@bp.get("/callback")
def callback() -> Response:
    current = web.current_session()
    raw = current.data.pop("pending", None) if current else None
    if raw is None:
        return web.refused("session_ended")
    params = {k: v for k, v in request.args.items() if isinstance(v, str)}
    try:
        login = web.idp().finish(Authorization(**raw), web.settings().redirect_uri, params)
    except InvalidToken as e:
        log.warning("refused an ID token: %s", e)
        return web.refused("idp_error", "invalid_id_token")
    current.data["login"] = asdict(login)
    current.data["sub"] = login.claims["sub"]
    current.data["idp_sid"] = login.claims.get("sid")
    current.data["csrf"] = secrets.token_urlsafe(32)
    return web.secure(redirect(url_for("bank.application"), 303))


@bp.post("/logout")
def logout() -> Response:
    """End the bank session, then the IdP session (RP-Initiated Logout)."""
    current = web.current_session()
    login = web.login_of(current)
    if current is None or login is None:
        session.clear()
        return web.secure(redirect(url_for("bank.logged_out"), 303))
    if not web.csrf_ok(current):
        return web.refused("bad_request")
    web.sessions().end(current.id)
    session.clear()
    state = secrets.token_urlsafe(16)
    session["logout_state"] = state
    try:
        url = web.idp().logout_url(
            login.id_token, web.settings().post_logout_redirect_uri, state, web.language()
        )
    except IdpUnavailable:
        return web.secure(redirect(url_for("bank.logged_out"), 303))
    return web.secure(redirect(url, 303))


@bp.get("/logged-out")
def logged_out() -> Response:
    session.pop("logout_state", None)
    return web.page("logged_out.html")


@bp.post("/backchannel-logout")
def backchannel_logout() -> Response:
    """OIDC Back-Channel Logout §2.5: validate the logout token, end the matching sessions."""
    token = request.form.get("logout_token")
    if not token:
        return web.no_store({"error": "invalid_request"}, 400)
    try:
        claims = web.idp().validate_logout_token(token)
    except InvalidToken as e:
        log.warning("refused a logout token: %s", e)
        return web.no_store({"error": "invalid_request"}, 400)
    except IdpUnavailable:
        return web.no_store({"error": "temporarily_unavailable"}, 503)
    if not web.sessions().first_use(claims["jti"]):
        return web.no_store({"error": "invalid_request", "error_description": "replayed"}, 400)
    ended = web.sessions().end_matching(claims.get("sid"), claims.get("sub"))
    log.info("back-channel logout ended %d session(s)", ended)
    return web.no_store({}, 200)
