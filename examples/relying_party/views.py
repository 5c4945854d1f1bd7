"""The bank's pages: apply → IdP login → applicant data → income → contract → logout.

Each page is rendered by ``page`` (language, CSRF token, strict CSP, no caching). Every failure
the applicant can meet ends on ``refused``: a page in Japanese and English that says what
happened and what to do, never a stack trace. What the bank holds about the applicant lives in
the server-side session (``sessions``), which the IdP's back-channel logout can end.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
import time
from dataclasses import asdict
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale

from . import affordability, contract
from .idp_client import Authorization, IdpClient, IdpError, IdpUnavailable, InvalidToken, Login
from .sessions import BankSession, SessionStore
from .settings import PURPOSE, BankSettings

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
    "no_selfinfo": 404,
    "not_registered": 503,
    "bad_request": 400,
}
"""Reasons of the friendly refusal page (templates/bank/refused.html) and their status."""


# --- plumbing -----------------------------------------------------------------------------------


def _settings() -> BankSettings:
    return current_app.extensions["bank.settings"]


def _idp() -> IdpClient:
    return current_app.extensions["bank.idp"]


def _store() -> SessionStore:
    return current_app.extensions["bank.sessions"]


def _current() -> BankSession | None:
    return _store().get(session.get("id"))


def _start() -> BankSession:
    """A new bank session (a new id: nothing carries over from before)."""
    if old := session.get("id"):
        _store().end(old)
    bank_session = _store().create()
    session.clear()
    session["id"] = bank_session.id
    bank_session.data["csrf"] = secrets.token_urlsafe(32)
    return bank_session


def _lang() -> str:
    return str(get_locale() or "ja")


def _csp() -> str:
    idp = urlsplit(_settings().issuer)
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action 'self' {idp.scheme}://{idp.netloc}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _csp()
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def page(template: str, status: int = 200, *, path: str | None = None, **context) -> Response:
    """Render ``template``; the language switch links to ``path`` (default: this page)."""
    current = _current()
    lang = _lang()
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
    return _secure(make_response(html, status))


def refused(reason: str, detail: str = "") -> Response:
    """The friendly page for ``reason``; ``detail`` is the IdP's error code, shown as is."""
    path = url_for("bank.refusal_preview", reason=reason)  # the switch must not replay this
    return page("refused.html", REFUSALS[reason], path=path, reason=reason, detail=detail)


def _csrf_ok(current: BankSession | None) -> bool:
    sent = request.form.get("csrf_token", "")
    expected = current.data.get("csrf", "") if current else ""
    return bool(expected) and hmac.compare_digest(sent, expected)


def _login(current: BankSession | None) -> Login | None:
    raw = current.data.get("login") if current else None
    return Login(**raw) if raw else None


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


# --- pages --------------------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    return page("index.html", registered=bool(_idp().client_id))


@bp.post("/apply")
def apply() -> Response:
    """Push the authorization request and send the browser to the IdP's login page."""
    if not _idp().client_id:
        return refused("not_registered")
    current = _start()
    pending = _idp().begin(_settings().redirect_uri, _lang(), PURPOSE)
    current.data["pending"] = asdict(pending)
    return _secure(redirect(pending.url, 303))


@bp.get("/callback")
def callback() -> Response:
    current = _current()
    raw = current.data.pop("pending", None) if current else None
    if raw is None:
        return refused("session_ended")
    params = {k: v for k, v in request.args.items() if isinstance(v, str)}
    try:
        login = _idp().finish(Authorization(**raw), _settings().redirect_uri, params)
    except InvalidToken as e:
        log.warning("refused an ID token: %s", e)
        return refused("idp_error", "invalid_id_token")
    current.data["login"] = asdict(login)
    current.data["sub"] = login.claims["sub"]
    current.data["idp_sid"] = login.claims.get("sid")
    current.data["csrf"] = secrets.token_urlsafe(32)
    return _secure(redirect(url_for("bank.application"), 303))


def _verified_claims(claims: dict) -> dict:
    """The ``verified_claims`` element (an object, or the first of an array)."""
    found = claims.get("verified_claims") or {}
    return found[0] if isinstance(found, list) and found else found


@bp.get("/application")
def application() -> Response:
    current = _current()
    login = _login(current)
    if login is None:
        return refused("session_ended")
    verified = _verified_claims(login.claims)
    return page(
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
    current = _current()
    login = _login(current)
    if login is None:
        return refused("session_ended")
    if not _csrf_ok(current):
        return refused("bad_request")
    try:
        income = _idp().selfinfo(login, "income")
        household = _idp().selfinfo(login, "household")
    except IdpError as e:
        if e.error == "not_found":
            return refused("no_selfinfo")
        if e.error in ("invalid_token", "insufficient_scope"):
            return refused("consent_needed", e.error)
        raise
    current.data["selfinfo"] = {"income": income, "household": household}
    current.data["assessment"] = asdict(affordability.assess(income, household))
    return _secure(redirect(url_for("bank.application") + "#assessment", 303))


@bp.post("/contract")
def sign_contract() -> Response:
    """Make the contract PDF and send the applicant to the IdP to sign it with the card."""
    current = _current()
    login = _login(current)
    if login is None:
        return refused("session_ended")
    if not _csrf_ok(current) or not current.data.get("assessment"):
        return refused("bad_request")
    assessment = current.data["assessment"]
    applicant = _verified_claims(login.claims).get("claims", {})
    terms = contract.Terms(
        applicant=applicant.get("name", ""),
        amount=assessment["max_loan"],
        years=affordability.YEARS,
        rate_percent=affordability.CONTRACT_RATE * 100,
        monthly_payment=assessment["monthly_payment"],
        reference="SB-" + secrets.token_hex(4).upper(),
    )
    pdf = contract.contract_pdf(terms)
    state = secrets.token_urlsafe(24)
    answer = _idp().submit_document(
        {
            "sub": login.claims["sub"],
            "title": f"住宅ローン契約書 / Mortgage loan agreement {terms.reference}",
            "summary": (
                f"借入額 {terms.amount:,}円、期間 {terms.years}年、固定金利 "
                f"{terms.rate_percent:.2f}%、毎月返済額 {terms.monthly_payment:,}円\n"
                f"Loan JPY {terms.amount:,}, {terms.years} years, fixed "
                f"{terms.rate_percent:.2f}%, monthly JPY {terms.monthly_payment:,}"
            ),
            "pdf": base64.b64encode(pdf).decode("ascii"),
            "redirect_uri": _settings().contract_return_uri,
            "state": state,
        }
    )
    if answer.get("digest") != contract.digest_b64url(pdf):
        return refused("signing_failed", "digest_mismatch")
    current.data["contract"] = {
        "document_id": answer["document_id"],
        "state": state,
        "pdf": base64.b64encode(pdf).decode("ascii"),
        "terms": asdict(terms),
    }
    return _secure(redirect(answer["review_url"], 303))


@bp.get("/contract/signed")
def contract_returned() -> Response:
    """Back from the IdP: check state, fetch the outcome, verify the CMS ourselves."""
    current = _current()
    pending = current.data.get("contract") if current else None
    if pending is None or _login(current) is None:
        return refused("session_ended")
    if not hmac.compare_digest(request.args.get("state", ""), pending["state"]) or (
        request.args.get("document_id") != pending["document_id"]
    ):
        return refused("bad_request")
    if request.args.get("error") == "access_denied":
        return refused("signing_declined")
    outcome = _idp().document(pending["document_id"])
    if outcome.get("status") == "declined":
        return refused("signing_declined")
    if outcome.get("status") != "signed":
        return refused("signing_failed", str(outcome.get("status")))
    signed = _idp().signed_pdf(pending["document_id"])
    try:
        verified = contract.verify_signed_pdf(
            signed,
            base64.b64decode(pending["pdf"]),
            base64.b64decode(outcome["cms"], validate=True),
            outcome["signer_certificate"],
        )
    except (contract.SignatureRefused, KeyError, TypeError, binascii.Error) as e:
        log.warning("refused the returned signature: %s", e)
        return refused("signature_invalid")
    pending["signed_pdf"] = base64.b64encode(signed).decode("ascii")
    pending["verified"] = asdict(verified)
    pending["signed_at"] = outcome.get("signed_at")
    pending["status"] = outcome["status"]
    return _secure(redirect(url_for("bank.contract_page"), 303))


@bp.get("/contract")
def contract_page() -> Response:
    current = _current()
    pending = current.data.get("contract") if current else None
    if pending is None or _login(current) is None:
        return refused("session_ended")
    if "verified" not in pending:  # sent to the IdP, never came back signed
        return refused("signing_failed")
    return page("contract.html", contract=pending)


@bp.get("/contract/signed.pdf")
def signed_pdf() -> Response:
    current = _current()
    pending = current.data.get("contract") if current else None
    if pending is None or "verified" not in pending:
        return refused("session_ended")
    response = make_response(base64.b64decode(pending["signed_pdf"]))
    response.headers["Content-Type"] = "application/pdf"
    filename = f"mortgage-contract-{pending['terms']['reference']}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _secure(response)


@bp.get("/received")
def received() -> Response:
    """Everything the bank received from the IdP for this application (tokens omitted)."""
    current = _current()
    login = _login(current)
    if login is None:
        return refused("session_ended")
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
    return page("received.html", sections=shown)


@bp.post("/logout")
def logout() -> Response:
    """End the bank session, then the IdP session (RP-Initiated Logout)."""
    current = _current()
    login = _login(current)
    if current is None or login is None:
        session.clear()
        return _secure(redirect(url_for("bank.logged_out"), 303))
    if not _csrf_ok(current):
        return refused("bad_request")
    _store().end(current.id)
    session.clear()
    state = secrets.token_urlsafe(16)
    session["logout_state"] = state
    try:
        url = _idp().logout_url(
            login.id_token, _settings().post_logout_redirect_uri, state, _lang()
        )
    except IdpUnavailable:
        return _secure(redirect(url_for("bank.logged_out"), 303))
    return _secure(redirect(url, 303))


@bp.get("/logged-out")
def logged_out() -> Response:
    session.pop("logout_state", None)
    return page("logged_out.html")


@bp.post("/backchannel-logout")
def backchannel_logout() -> Response:
    """OIDC Back-Channel Logout §2.5: validate the logout token, end the matching sessions."""
    token = request.form.get("logout_token")
    if not token:
        return _no_store({"error": "invalid_request"}, 400)
    try:
        claims = _idp().validate_logout_token(token)
    except InvalidToken as e:
        log.warning("refused a logout token: %s", e)
        return _no_store({"error": "invalid_request"}, 400)
    except IdpUnavailable:
        return _no_store({"error": "temporarily_unavailable"}, 503)
    if not _store().first_use(claims["jti"]):
        return _no_store({"error": "invalid_request", "error_description": "replayed"}, 400)
    ended = _store().end_matching(claims.get("sid"), claims.get("sub"))
    log.info("back-channel logout ended %d session(s)", ended)
    return _no_store({}, 200)


def _no_store(body: dict, status: int) -> Response:
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


@bp.app_template_filter("epoch")
def epoch(value: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value)) if value else ""
