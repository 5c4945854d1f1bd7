"""A document for this account is signed only with the signing key of the card the citizen
logged in with (bridge-protocol.md §9): the answer carries the same card's authentication
signature over the same digest, and that certificate must be the account's own.

Every refusal signs nothing, sends nothing to the service, stores nothing and uses up the
prepared digest (the step's challenge): the page prepares again for the next attempt.
"""

from __future__ import annotations

import hashlib
import time

from tests.documents.conftest import b64url, card_result, one_key_result, open_review
from tests.documents.test_review import _access_records, _status


def _signing_records(app) -> list[tuple[str, str, bool]]:
    from idp.storage.db import db
    from idp.storage.signing_certificates import SigningCertificateRecord

    with app.app_context():
        rows = db.session.query(SigningCertificateRecord).order_by(SigningCertificateRecord.id)
        return [(r.account_id, r.serial, r.replaced_at is None) for r in rows]


def _nothing_signed(app, bank, document_id: str, response, status: int, reason: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert f'data-reason="{reason}"' in response.get_data(as_text=True)
    answer = _status(bank, document_id)
    assert answer["status"] == "pending"
    assert "cms" not in answer
    assert _access_records(app, "citizen-1") == []
    assert _signing_records(app) == []


def test_card_b_signing_certificate_is_refused_for_card_a(app, bank, world):
    """The good card logged in (``citizen-1``); another person's card answers with both of its
    own keys."""
    other = world.new_card()
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    refused = page.http.post(page.base + "/result?lang=en",
                             data={"csrf_token": page.csrf,
                                   "result": card_result(other, digest)})  # fmt: skip
    _nothing_signed(app, bank, answer["document_id"], refused, 403, "another_card")
    assert "This is not the card you logged in with" in refused.get_data(as_text=True)
    # the prepared digest is used up: the citizen's own answer to it is no longer taken
    late = page.post_result(card_result(world.good, digest))
    _nothing_signed(app, bank, answer["document_id"], late, 400, "generic")
    assert page.sign(world.good).status_code == 303  # a fresh preparation signs


def test_a_one_key_answer_with_card_b_signing_certificate_must_update_the_bridge(app, bank, world):
    """What was accepted before: another card's signing certificate alone."""
    other = world.new_card()
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    digest = page.to_sign()
    refused = page.post_result(one_key_result(other, digest))
    _nothing_signed(app, bank, answer["document_id"], refused, 400, "bridge_outdated")
    assert "カードブリッジの更新が必要です" in refused.get_data(as_text=True)
    late = page.post_result(card_result(world.good, digest))
    _nothing_signed(app, bank, answer["document_id"], late, 400, "generic")


def test_a_pair_whose_authentication_half_signed_another_digest_is_refused(app, bank, world):
    """A's authentication signature from another preparation, beside B's document signature."""
    other = world.new_card()
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    earlier = page.to_sign()
    time.sleep(1.1)  # another signing time: other attributes, another digest
    digest = page.to_sign()
    assert digest != earlier
    mixed = card_result(other, digest, auth=world.good, auth_signed=earlier)
    refused = page.post_result(mixed)
    _nothing_signed(app, bank, answer["document_id"], refused, 400, "changed")


def test_a_replayed_answer_is_refused(app, bank, world):
    first = bank.document()
    page = open_review(bank.rp.http, first["document_id"])
    result = card_result(world.good, page.to_sign())
    assert page.post_result(result).status_code == 303
    second = bank.document(digest=b64url(hashlib.sha256(b"another contract").digest()))
    other = open_review(bank.rp.http, second["document_id"])
    other.to_sign()
    assert other.post_result(result).status_code == 400  # another request's digest
    assert _status(bank, second["document_id"])["status"] == "pending"


def test_the_same_card_signs_and_the_signing_certificate_is_recorded(app, bank, world):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    assert page.sign(world.good).status_code == 303
    assert _status(bank, answer["document_id"])["status"] == "signed"
    serial = f"{world.good.certificate.serial_number:X}"
    assert _signing_records(app) == [("citizen-1", serial, True)]
    overview = page.http.get("/account?lang=en").get_data(as_text=True)
    assert f'data-signing-serial="{serial}"' in overview


def test_the_review_page_asks_for_both_pins_and_knows_the_update_state(bank):
    answer = bank.document()
    page = open_review(bank.rp.http, answer["document_id"])
    english = page.http.get(page.base + "/review?lang=en").get_data(as_text=True)
    assert "type your 4-digit PIN and your signing password" in english
    assert 'id="state-bridge_outdated"' in english


def test_a_locked_authentication_pin_gets_its_own_page(bank):
    answer = bank.document()
    open_review(bank.rp.http, answer["document_id"])
    response = bank.rp.http.get(f"/documents/{answer['document_id']}/locked?pin=auth&lang=en")
    html = response.get_data(as_text=True)
    assert 'data-reason="auth_pin_locked"' in html
    assert "4-digit PIN" in html
