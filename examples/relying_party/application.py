"""The mortgage application: the applicant's verified data, income and household read from
the self-information API with an affordability figure, and everything the bank received."""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, redirect, url_for

from . import affordability, web
from .idp_client import IdpError
from .web import bp, verified_claims


@bp.get("/application")
def application() -> Response:
    current = web.current_session()
    login = web.login_of(current)
    if login is None:
        return web.refused("session_ended")
    verified = verified_claims(login.claims)
    return web.page(
        "application.html",
        verified=verified,
        applicant=verified.get("claims", {}),
        verification=verified.get("verification", {}),
        selfinfo=current.data.get("selfinfo"),
        assessment=current.data.get("assessment"),
    )


@bp.post("/application/income")
def fetch_income() -> Response:
    """Read income and household from the self-information API with the access token."""
    current = web.current_session()
    login = web.login_of(current)
    if login is None:
        return web.refused("session_ended")
    if not web.csrf_ok(current):
        return web.refused("bad_request")
    try:
        income = web.idp().selfinfo(login, "income")
        household = web.idp().selfinfo(login, "household")
    except IdpError as e:
        if e.error == "not_found":
            return web.refused("no_selfinfo")
        if e.error in ("invalid_token", "insufficient_scope"):
            return web.refused("consent_needed", e.error)
        raise
    current.data["selfinfo"] = {"income": income, "household": household}
    current.data["assessment"] = asdict(affordability.assess(income, household))
    return web.secure(redirect(url_for("bank.application") + "#assessment", 303))


@bp.get("/received")
def received() -> Response:
    """Everything the bank received from the IdP for this application (tokens omitted)."""
    current = web.current_session()
    login = web.login_of(current)
    if login is None:
        return web.refused("session_ended")
    token = {
        "token_type": login.token_type,
        "scope": login.scope,
        "expires_in": login.expires_in,
        "refresh_token": "(received)" if login.refresh_token else "(none)",
    }
    sections = {
        "id_token": login.claims,
        "token": token,
        "selfinfo": current.data.get("selfinfo"),
        "contract": {
            k: v
            for k, v in (current.data.get("contract") or {}).items()
            if k not in ("pdf", "signed_pdf", "state")
        }
        or None,
    }
    shown = {k: json.dumps(v, ensure_ascii=False, indent=2) for k, v in sections.items() if v}
    return web.page("received.html", sections=shown)
