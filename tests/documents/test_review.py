"""The citizen's review and signature: who may see a document, signing once,
declining, expiry, a changed document, and revoked or held signing certificates."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.jpki.document import fingerprint
from sandbox.profiles import CertKind
from tests.documents.conftest import (
    REDIRECT,
    Card,
    bind_card,
    card_result,
    log_in,
    make_account,
    open_review,
    sample_pdf,
    unb64url,
)


def _query(response) -> dict:
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _status(bank, document_id: str) -> dict:
    return bank.status(document_id).json


def _access_records(app, account_id: str) -> list[tuple[str, str, str]]:
    from idp.storage.consents import AccessRecord
    from idp.storage.db import db

    with app.app_context():
        rows = db.session.query(AccessRecord).filter_by(account_id=account_id).all()
        return [(r.client_name, r.kind, r.item) for r in rows]


def _csrf_of(browser) -> str:
    """This browser's own CSRF token, from a page it can open (the refusal pages have none)."""
    with browser.session_transaction() as session:
        return session["csrf"]


def _expire(app, document_id: str) -> None:
    """Move the request's deadline into the past (instead of waiting for it)."""
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    with app.app_context():
        db.session.get(DocumentRequest, document_id).expires_at = int(time.time()) - 1
        db.session.commit()


def test_the_review_page_shows_the_request_in_japanese_by_default(bank):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = unb64url(answer["digest"])
    shown = ["Sample Bank", "住宅ローン金銭消費貸借契約書", "借入額 3,000万円",
             "Loan: 30,000,000 JPY", fingerprint(digest), "文書を確認して署名する",
             "カードで署名する", "署名しない"]  # fmt: skip
    for text in shown:
        assert text in page.html, text
    assert 'lang="ja"' in page.html
    assert "<script>" not in page.html
    assert "style=" not in page.html


def test_the_review_page_in_english_with_strict_headers(bank):
    answer = bank.document()
    response = bank.rp.http.get(f"/documents/{answer['document_id']}/review?lang=en")
    html = response.get_data(as_text=True)
    for text in ["Review and sign a document", "Sign with my card", "Decline", "fingerprint"]:
        assert text in html, text
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "http://127.0.0.1:8003" in csp  # the bridge, for connect-src
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_pdf_is_linked_and_shown_only_to_its_citizen(app, bank):
    pdf = sample_pdf()
    answer = bank.document(digest=None, pdf=base64.b64encode(pdf).decode())
    page = open_review(bank.rp.http, answer["document_id"])
    assert f"/documents/{answer['document_id']}/document.pdf" in page.html
    shown = bank.rp.http.get(f"/documents/{answer['document_id']}/document.pdf")
    assert (shown.status_code, shown.mimetype, shown.data) == (200, "application/pdf", pdf)
    stranger = app.test_client()
    make_account(app, "citizen-2")
    log_in(type(bank.rp)(stranger, bank.rp.client_id, REDIRECT, secret=bank.rp.secret), "citizen-2")
    refused = stranger.get(f"/documents/{answer['document_id']}/document.pdf")
    assert refused.status_code == 403
    assert refused.data != pdf


def test_without_a_session_the_idps_own_login_runs_and_comes_back(app, bank):
    from tests.cardless import DEFAULT_ACCOUNT

    answer = bank.document(sub=bank.sub(DEFAULT_ACCOUNT))
    browser = app.test_client()
    path = f"/documents/{answer['document_id']}/review"
    response = browser.get(path)
    assert response.status_code in (302, 303)
    assert urlsplit(response.headers["Location"]).path == path
    assert browser.get(path).status_code == 200


def test_another_persons_session_sees_nothing_of_the_document(app, bank):
    answer = bank.document()
    browser = app.test_client()
    make_account(app, "citizen-2")
    log_in(type(bank.rp)(browser, bank.rp.client_id, REDIRECT, secret=bank.rp.secret), "citizen-2")
    base = f"/documents/{answer['document_id']}"
    response = browser.get(base + "/review?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This document is for someone else" in html
    for secret in ["住宅ローン", "借入額", fingerprint(unb64url(answer["digest"]))]:
        assert secret not in html
    page = open_review(bank.rp.http, answer["document_id"])  # the right person's token…
    assert browser.post(base + "/prepare", headers={"X-CSRF-Token": page.csrf}).status_code == 403
    assert browser.post(base + "/decline", data={"csrf_token": page.csrf}).status_code == 400
    own_token = {"csrf_token": _csrf_of(browser)}
    assert browser.post(base + "/decline", data=own_token).status_code == 403
    assert _status(bank, answer["document_id"])["status"] == "pending"


def test_an_unknown_document_is_a_readable_404(bank):
    response = bank.rp.http.get("/documents/" + "A" * 43 + "/review?lang=en")
    assert response.status_code == 404
    assert "This document cannot be found" in response.get_data(as_text=True)


def test_signing_redirects_to_the_service_and_records_the_access(app, bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    response = page.sign(world.good)
    assert response.status_code == 303
    assert _query(response) == {"document_id": answer["document_id"], "state": "s-123"}
    status = _status(bank, answer["document_id"])
    assert status["status"] == "signed"
    assert status["signed_at"] >= int(time.time()) - 60
    assert "BEGIN CERTIFICATE" in status["signer_certificate"]
    assert _access_records(app, "citizen-1") == [
        ("Sample Bank", "document_signature", "document:住宅ローン金銭消費貸借契約書")
    ]


def test_a_document_is_signed_at_most_once(app, bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    assert page.post_result(card_result(world.good, digest)).status_code == 303
    first = _status(bank, answer["document_id"])
    again = page.post_result(card_result(world.good, digest))
    assert again.status_code == 409
    assert _status(bank, answer["document_id"]) == first
    assert page.prepare().status_code == 403
    assert bank.rp.http.get(f"/documents/{answer['document_id']}/review").status_code == 409
    assert len(_access_records(app, "citizen-1")) == 1


def test_declining_tells_the_service_access_denied(bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    response = page.decline()
    assert response.status_code == 303
    assert _query(response) == {
        "document_id": answer["document_id"],
        "error": "access_denied",
        "state": "s-123",
    }
    assert _status(bank, answer["document_id"])["status"] == "declined"
    assert page.post_result(card_result(world.good, digest)).status_code == 409
    assert "cms" not in _status(bank, answer["document_id"])


def test_without_a_state_the_redirect_carries_none(bank):
    answer = bank.document(state=None)
    response = open_review(bank.rp.http, answer["document_id"]).decline()
    assert "state" not in _query(response)


def test_after_expiry_nothing_can_be_signed(app, bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    _expire(app, answer["document_id"])
    refused = page.post_result(card_result(world.good, digest))
    assert refused.status_code == 410
    assert _status(bank, answer["document_id"])["status"] == "expired"
    review = bank.rp.http.get(f"/documents/{answer['document_id']}/review?lang=en")
    assert review.status_code == 410
    assert "This signing request has expired" in review.get_data(as_text=True)
    assert page.prepare().status_code == 403
    assert page.decline().status_code == 410
    assert _status(bank, answer["document_id"])["status"] == "expired"


def test_a_signature_over_another_digest_is_refused(bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    other = hashlib.sha256(b"another contract").digest()
    response = page.post_result(card_result(world.good, other))
    assert response.status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"
    # the echo claims our digest but the card signed another value (a fresh preparation: the
    # refused answer used up the first)
    digest = page.to_sign()
    response = page.post_result(card_result(world.good, digest, signed=other))
    assert response.status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"


def test_a_signature_made_for_an_earlier_preparation_is_refused(bank, world):
    """What the citizen reviewed and the bridge showed is the latest preparation only."""
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    stale = page.to_sign()
    time.sleep(1.1)  # another signing time: other attributes, another digest
    fresh = page.to_sign()
    assert stale != fresh
    assert page.post_result(card_result(world.good, stale)).status_code == 400
    # the refused answer used up the preparation: the page prepares again for each attempt
    assert page.post_result(card_result(world.good, fresh)).status_code == 400
    assert page.post_result(card_result(world.good, page.to_sign())).status_code == 303


def test_a_signature_for_another_origin_is_refused(bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    result = card_result(world.good, page.to_sign(), origin="https://evil.example")
    assert page.post_result(result).status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"


@pytest.mark.parametrize(("card", "heading"), [
    ("revoked", "Your signing certificate is no longer valid"),
    ("on_hold", "Your signing certificate is suspended"),
])  # fmt: skip
def test_a_revoked_or_held_signing_certificate_is_refused(bank, world, card, heading):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    result = card_result(getattr(world, card), page.to_sign())
    response = page.http.post(
        page.base + "/result?lang=en", data={"csrf_token": page.csrf, "result": result}
    )
    assert response.status_code == 403
    assert heading in response.get_data(as_text=True)
    assert "Nothing was signed." in response.get_data(as_text=True)
    assert _status(bank, answer["document_id"])["status"] == "pending"


def test_the_revocation_check_is_fresh_for_every_signature(app, bank, world):
    """An address change revokes the certificate: the next signature must see it at once."""
    card = world.new_card()
    bind_card(app, card)
    first = bank.document()
    assert open_review(bank.rp.http, first["document_id"]).sign(card).status_code == 303
    world.state.revoke(card.id, CertKind.SIGN, "affiliationChanged")
    second = bank.document()
    refused = open_review(bank.rp.http, second["document_id"]).sign(card)
    assert refused.status_code == 403
    assert _status(bank, second["document_id"])["status"] == "pending"


def test_the_authentication_certificate_is_not_accepted(bank, world):
    auth = Card(world.good.id, world.state.certificate(world.good.id, CertKind.AUTH),
                world.state.private_key(world.good.id, CertKind.AUTH),
                world.good.auth_certificate, world.good.auth_key)  # fmt: skip
    answer = bank.document()
    response = open_review(bank.rp.http, answer["document_id"]).sign(auth)
    assert response.status_code == 403
    assert _status(bank, answer["document_id"])["status"] == "pending"


def test_posts_without_the_csrf_token_change_nothing(bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    assert page.prepare(csrf="forged").status_code == 403
    digest = page.to_sign()
    assert page.post_result(card_result(world.good, digest), csrf="forged").status_code == 400
    forged = page.http.post(page.base + "/decline", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"


@pytest.mark.parametrize("result", ["", "not json", '{"purpose": "document"}', "x" * 20000])
def test_a_malformed_result_is_refused_and_changes_nothing(bank, result):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    page.to_sign()
    assert page.post_result(result).status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"


def test_the_locked_pin_page_says_where_to_go(bank):
    answer = bank.document()
    open_review(bank.rp.http, answer["document_id"])
    response = bank.rp.http.get(f"/documents/{answer['document_id']}/locked")
    assert "市区町村の窓口" in response.get_data(as_text=True)
    assert _status(bank, answer["document_id"])["status"] == "pending"


@pytest.mark.parametrize(
    ("member", "value"),
    [("purpose", {}), ("purpose", []), ("digest", ["x"]), ("origin", {"a": 1}), ("version", 1.0)],
)
def test_a_member_of_another_type_is_refused_and_changes_nothing(bank, world, member, value):
    """``"purpose": {}`` raised TypeError in the parser: a 500 instead of the refusal."""
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    bent = {**json.loads(card_result(world.good, page.to_sign())), member: value}
    response = page.post_result(json.dumps(bent))
    assert response.status_code == 400
    assert _status(bank, answer["document_id"])["status"] == "pending"
