"""The loan contract: made as a PDF, signed at the IdP with the applicant's signing certificate,
its signature checked by the bank itself (``contract``), offered for download."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import asdict

from flask import Response, make_response, redirect, request, url_for

from . import affordability, contract, web
from .protocol import Login
from .sessions import BankSession
from .web import bp, log, verified_claims


@bp.post("/contract")
@web.signed_in
def sign_contract(current: BankSession, login: Login) -> Response:
    """Make the contract PDF and send the applicant to the IdP to sign it with the card."""
    if not current.data.get("assessment"):
        return web.refused("bad_request")
    assessment = current.data["assessment"]
    applicant = verified_claims(login.claims).get("claims", {})
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
    answer = web.idp().submit_document(
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
            "redirect_uri": web.settings().contract_return_uri,
            "state": state,
        }
    )
    if answer.get("digest") != contract.digest_b64url(pdf):
        return web.refused("signing_failed", "digest_mismatch")
    current.data["contract"] = {
        "document_id": answer["document_id"],
        "state": state,
        "pdf": base64.b64encode(pdf).decode("ascii"),
        "terms": asdict(terms),
    }
    return web.secure(redirect(answer["review_url"], 303))


@bp.get("/contract/signed")
@web.signed_in
def contract_returned(current: BankSession, _login: Login) -> Response:
    """Back from the IdP: check state, fetch the outcome, verify the CMS ourselves."""
    pending = current.data.get("contract")
    if pending is None:
        return web.refused("session_ended")
    if not hmac.compare_digest(request.args.get("state", ""), pending["state"]) or (
        request.args.get("document_id") != pending["document_id"]
    ):
        return web.refused("bad_request")
    if request.args.get("error") == "access_denied":
        return web.refused("signing_declined")
    outcome = web.idp().document(pending["document_id"])
    if outcome.get("status") == "declined":
        return web.refused("signing_declined")
    if outcome.get("status") != "signed":
        return web.refused("signing_failed", str(outcome.get("status")))
    signed = web.idp().signed_pdf(pending["document_id"])
    try:
        verified = contract.verify_signed_pdf(
            signed,
            base64.b64decode(pending["pdf"]),
            base64.b64decode(outcome["cms"], validate=True),
            outcome["signer_certificate"],
        )
    except (contract.SignatureRefused, KeyError, TypeError, binascii.Error) as e:
        log.warning("refused the returned signature: %s", e)
        return web.refused("signature_invalid")
    pending["signed_pdf"] = base64.b64encode(signed).decode("ascii")
    pending["verified"] = asdict(verified)
    pending["signed_at"] = outcome.get("signed_at")
    pending["status"] = outcome["status"]
    return web.secure(redirect(url_for("bank.contract_page"), 303))


@bp.get("/contract")
@web.signed_in
def contract_page(current: BankSession, _login: Login) -> Response:
    pending = current.data.get("contract")
    if pending is None:
        return web.refused("session_ended")
    if "verified" not in pending:  # sent to the IdP, never came back signed
        return web.refused("signing_failed")
    return web.page("contract.html", contract=pending)


@bp.get("/contract/signed.pdf")
@web.signed_in
def signed_pdf(current: BankSession, _login: Login) -> Response:
    pending = current.data.get("contract")
    if pending is None or "verified" not in pending:
        return web.refused("session_ended")
    response = make_response(base64.b64decode(pending["signed_pdf"]))
    response.headers["Content-Type"] = "application/pdf"
    filename = f"mortgage-contract-{pending['terms']['reference']}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return web.secure(response)
