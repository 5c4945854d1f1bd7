"""The mortgage application: the applicant's verified data, income and household read from
the self-information API with an affordability figure, and everything the bank received."""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, redirect, url_for

from . import affordability, web
from .protocol import IdpError, Login
from .sessions import BankSession
from .web import bp, verified_claims


@bp.get("/application")
@web.signed_in
def application(current: BankSession, login: Login) -> Response:
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
@web.signed_in
def fetch_income(current: BankSession, login: Login) -> Response:
    """Read income and household from the self-information API with the access token."""
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
@web.signed_in
def received(current: BankSession, login: Login) -> Response:
    """Everything the bank received from the IdP for this application (tokens omitted)."""
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
