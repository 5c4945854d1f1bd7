"""Documents after a hold: the service's document API is the service's own (it authenticates
the client, and takes no access token of the citizen), but the citizen's side of a pending
document needs the IdP session, which the hold ended: the review page asks for a new card login
before it shows anything."""

from __future__ import annotations

import base64
import hashlib

import pytest

import idp.oidc.backchannel as backchannel
from idp.jpki.status import Status
from idp.oidc.authenticator import AUTHENTICATOR
from idp.oidc.server import SERVER
from idp.services import services
from tests.cardstatus.conftest import REDIRECT, deliver, register


@pytest.fixture(autouse=True)
def held_courier(monkeypatch):
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: None)


def _submit(app, bank, account_id: str) -> str:
    from idp.oidc.clients import find_client

    with app.app_context():
        client = find_client(bank.client_id)
        sub = services(app)[SERVER].services.subjects.for_client(account_id, client)
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"contract").digest()).rstrip(b"=")
    body = {"sub": sub, "title": "契約書", "summary": "借入額 3,000万円", "digest": digest.decode(),
            "redirect_uri": REDIRECT}  # fmt: skip
    headers: dict = {}
    bank.auth({}, headers)
    response = app.test_client().post("/documents", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["document_id"]


def test_a_pending_document_needs_a_new_card_login_after_a_hold(app, card):
    bank = register(app, app.test_client())
    bank.login_code(login_hint=card.account_id)  # the citizen's browser has an IdP session
    document_id = _submit(app, bank, card.account_id)
    review = f"/documents/{document_id}/review"
    assert bank.http.get(review).status_code // 100 != 3  # shown to the session's person

    deliver(app, card.change(Status.ON_HOLD, "certificateHold"))
    services(app)[AUTHENTICATOR].account_id = card.account_id  # the login the page asks for

    again = bank.http.get(review)
    assert again.status_code // 100 == 3  # the card login first (the testing one answers at once)
    assert "/review" in again.headers["Location"]
    status = app.test_client().get(f"/documents/{document_id}", headers=_basic(bank))
    assert status.status_code == 200  # the service's own request stays readable to it
    assert status.json["status"] == "pending"


def _basic(bank) -> dict:
    headers: dict = {}
    bank.auth({}, headers)
    return headers
