"""The loan contract: made as a PDF, signed at the IdP with the applicant's signing certificate,
its signature checked by the bank itself (``contract``), offered for download.

A signed contract is never replaced or hidden: once one is signed the bank prepares no other
(the sign button leads to the signed one), and each document sent to the IdP is kept by its id
until it comes back, so an old review page signed or declined in another tab resolves to its
own document. Signed contracts are a list only so that such a race loses nothing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import asdict

from flask import Response, make_response, redirect, request, url_for

from . import affordability, contract, contract_pdf, signals, verify_contract, web
from .protocol import Login
from .sessions import BankSession
from .web import bp, log, verified_claims

REQUESTS = "contract_requests"
"""Session key: documents sent to the IdP and not yet back, by document id."""
SIGNED = "signed_contracts"
"""Session key: the signed contracts, verified by the bank, oldest first."""
KEPT_REQUESTS = 5


@bp.post("/contract")
@web.signed_in
def sign_contract(current: BankSession, login: Login) -> Response:
    """Make the contract PDF and send the applicant to the IdP to sign it with the card."""
    if current.data.get(SIGNED):  # signed already: show it, never prepare a second one
        return web.secure(redirect(url_for("bank.contract_page"), 303))
    if not current.data.get("assessment"):
        return web.refused("bad_request")
    if signals.reverification(login):  # the verified name and address are known to be stale
        return web.refused("reverify_needed")
    assessment = current.data["assessment"]
    applicant = verified_claims(login.claims).get("claims", {})
    terms = contract.Terms(
        applicant=applicant.get("name", ""),
        amount=assessment["max_loan"],
        years=affordability.YEARS,
        rate_percent=affordability.percent(affordability.CONTRACT_RATE),
        monthly_payment=assessment["monthly_payment"],
        reference="SB-" + secrets.token_hex(4).upper(),
        address=(applicant.get("address") or {}).get("formatted", ""),
        dated=contract_pdf.contract_date(),
    )
    pdf = contract_pdf.render(terms)
    state = secrets.token_urlsafe(24)
    answer = web.idp().submit_document(
        {
            "sub": login.claims["sub"],
            "title": f"住宅ローン契約書 / Mortgage loan agreement {terms.reference}",
            "title#ja": f"住宅ローン契約書 {terms.reference}",
            "title#en": f"Mortgage loan agreement {terms.reference}",
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
    requests = current.data.setdefault(REQUESTS, {})
    requests[answer["document_id"]] = {
        "document_id": answer["document_id"],
        "state": state,
        "pdf": base64.b64encode(pdf).decode("ascii"),
        "terms": terms.record(),
    }
    for old in list(requests)[:-KEPT_REQUESTS]:
        del requests[old]
    return web.secure(redirect(answer["review_url"], 303))


@bp.get("/contract/signed")
@web.signed_in
def contract_returned(current: BankSession, _login: Login) -> Response:
    """Back from the IdP: check state, fetch the outcome, verify the CMS ourselves."""
    requests, signed = current.data.get(REQUESTS) or {}, current.data.get(SIGNED) or []
    document_id = request.args.get("document_id", "")
    if not requests and not signed:
        return web.refused("session_ended")
    if any(c["document_id"] == document_id for c in signed):  # this return, reloaded
        return web.secure(redirect(url_for("bank.contract_page"), 303))
    pending = requests.get(document_id)
    if pending is None or not hmac.compare_digest(request.args.get("state", ""), pending["state"]):
        return web.refused("bad_request")
    outcome = {"status": "declined"}
    if request.args.get("error") != "access_denied":
        outcome = web.idp().document(document_id)
    if outcome.get("status") != "signed":
        del requests[document_id]
        if signed:  # another document was signed: that one stands, and is what we show
            return web.secure(redirect(url_for("bank.contract_page"), 303))
        if outcome.get("status") == "declined":
            return web.refused("signing_declined")
        return web.refused("signing_failed", str(outcome.get("status")))
    signed_pdf = web.idp().signed_pdf(document_id)
    try:
        verified = contract.verify_signed_pdf(
            signed_pdf,
            base64.b64decode(pending["pdf"]),
            base64.b64decode(outcome["cms"], validate=True),
            outcome["signer_certificate"],
        )
    except (contract.SignatureRefused, KeyError, TypeError, binascii.Error) as e:
        log.warning("refused the returned signature: %s", e)
        return web.refused("signature_invalid")
    del requests[document_id]
    current.data.setdefault(SIGNED, []).append(
        {
            "document_id": document_id,
            "terms": pending["terms"],
            "signed_pdf": base64.b64encode(signed_pdf).decode("ascii"),
            "verified": asdict(verified),
            "signed_at": outcome.get("signed_at"),
            "status": outcome["status"],
            "report": _long_term_report(signed_pdf),
        }
    )
    return web.secure(redirect(url_for("bank.contract_page"), 303))


def _long_term_report(signed_pdf: bytes) -> dict | None:
    """What the kept file proves on its own (``verify_contract``), for the loan officer; None
    when the bank has no trusted roots configured."""
    files = web.settings().root_files()
    if not files:
        return None
    return verify_contract.examine(signed_pdf, verify_contract.load_roots(files)).record()


@bp.get("/contract")
@web.signed_in
def contract_page(current: BankSession, _login: Login) -> Response:
    if signed := current.data.get(SIGNED):
        return web.page("contract.html", contracts=signed)
    if current.data.get(REQUESTS):  # sent to the IdP, never came back signed
        return web.refused("signing_failed")
    return web.refused("session_ended")


@bp.get("/contract/signed.pdf")
@web.signed_in
def signed_pdf(current: BankSession, _login: Login) -> Response:
    """The signed PDF: of ``?document_id=``, else the (first) signed contract."""
    signed = current.data.get(SIGNED) or []
    if not signed:
        return web.refused("session_ended")
    wanted = request.args.get("document_id", signed[0]["document_id"])
    found = next((c for c in signed if c["document_id"] == wanted), None)
    if found is None:
        return web.refused("bad_request")
    response = make_response(base64.b64decode(found["signed_pdf"]))
    response.headers["Content-Type"] = "application/pdf"
    filename = f"mortgage-contract-{found['terms']['reference']}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return web.secure(response)
