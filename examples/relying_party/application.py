"""The mortgage application: the applicant's verified data, income and household read from
the self-information API with an affordability figure, and everything the bank received.

The citizen may untick income or household at the IdP's consent screen: the bank reads only
the categories the token was granted (``Login.granted_selfinfo``) and says which it has not.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, redirect, url_for

from . import affordability, signals, signing, web
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
        granted=login.granted_selfinfo(),
        selfinfo=current.data.get("selfinfo"),
        assessment=current.data.get("assessment"),
        signed=current.data.get(signing.SIGNED) or [],
        reverify=signals.reverification(login),
    )


@bp.post("/application/income")
@web.signed_in
def fetch_income(current: BankSession, login: Login) -> Response:
    """Read income, and the household if granted, from the self-information API. Without
    income there is no figure to work out, so nothing is read (not even a granted household)."""
    granted = login.granted_selfinfo()
    if "income" not in granted:
        return web.refused("not_granted")
    if login.expired():  # no use asking: the IdP would answer invalid_token
        return web.refused("login_expired")
    found = {}
    try:
        for category in granted:
            found[category] = web.idp().selfinfo(login, category)
    except IdpError as e:
        return _selfinfo_refused(e)
    current.data["selfinfo"] = found
    assessment = affordability.assess(found["income"], found.get("household"))
    current.data["assessment"] = asdict(assessment)
    return web.secure(redirect(url_for("bank.application") + "#assessment", 303))


def _selfinfo_refused(error: IdpError) -> Response:
    """What the self-information API's refusal means for the applicant (docs/selfinfo.md)."""
    if error.error == "not_found":
        return web.refused("no_selfinfo")
    if error.error == "insufficient_scope":  # the token never carried this category
        return web.refused("not_granted", error.error)
    if error.withdrawn:
        return web.refused("consent_needed", error.error)
    if error.error == "invalid_token":  # expired, logged out at the IdP, or forgotten by it
        return web.refused("login_expired", error.error)
    raise error


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
        "contract": [
            {k: v for k, v in signed.items() if k != "signed_pdf"}
            for signed in current.data.get(signing.SIGNED) or []
        ]
        or None,
    }
    shown = {k: json.dumps(v, ensure_ascii=False, indent=2) for k, v in sections.items() if v}
    return web.page("received.html", sections=shown)
