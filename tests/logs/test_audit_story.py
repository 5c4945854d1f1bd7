"""A citizen's whole story at a card-login IdP, with its log output captured as an operator gets
it: every line is JSON, every audit event is named, and none of the citizen's facts (read from
the sandbox card) appear anywhere.

The story: a service is registered and its policy changed; a revoked card is refused; the good
card logs in and approves self-information and verified identity with the signing card; the
service redeems the code, reads userinfo and the income record, has a contract signed; the
citizen declines a second request and withdraws the consent on the account pages; the operator
rotates the keys and removes the service.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from flask.testing import FlaskCliRunner

from idp import audit
from idp.cli import main
from idp.oidc.server import SERVER
from idp.services import services
from sandbox.citizens import SAMPLE_CITIZENS
from tests.consent.conftest import CSRF, identity_result, open_consent, signing_card
from tests.consent.test_decisions import consents, token_for
from tests.documents.conftest import Card as DocumentCard
from tests.documents.conftest import card_result as document_answer
from tests.documents.conftest import open_review
from tests.login.cards import bridge_result
from tests.verified.helpers import claims_param, verified

CITIZEN = SAMPLE_CITIZENS[0]
"""The good card's holder (tests/login/conftest.py issues it first)."""
INCOME = {
    "fiscal_year": 2026, "income_year": 2025, "municipality": "東京都千代田区", "taxable": True,
    "income": {"total": 6_000_000, "salary": 6_000_000}, "taxable_income": 4_200_000,
    "resident_tax": {"municipal": 252_000, "prefectural": 168_000, "total": 420_000},
}  # fmt: skip
IDENTITY = claims_param(
    id_token=verified({"family_name": None, "birthdate": None}),
    userinfo=verified({"given_name": None, "address": None}),
)


def _facts() -> list[str]:
    """What must never be logged: the citizen's name (whole and each part), address, birthdate
    in every spelling the card or the claims use, and the address's town."""
    name = CITIZEN.name
    born = CITIZEN.birthdate
    return [
        name, *name.split("　"), CITIZEN.address, CITIZEN.address[:6],
        born.isoformat(), born.strftime("%Y%m%d"), born.strftime("%Y年"),
        CITIZEN.municipality_romaji,
    ]  # fmt: skip


def _cli(app, *args: str) -> None:
    result = FlaskCliRunner(app).invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.slow
def test_a_whole_story_logs_every_audit_event_as_json_and_no_personal_data(
    captured, card_app, rp, consent_page, login_page, world, tmp_path
):  # captured first: it hears the service's registration too
    # The operator registers a service (rp fixture: register_client, then its scope changed).
    refused = login_page()
    refused.post(bridge_result(world.revoked.certificate, world.revoked.key, refused.challenge()))

    page = consent_page(scope="openid selfinfo:income", claims=IDENTITY)
    items = page.everything()
    issued = page.challenge(items)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    assert issued.json["key"] == "sign"
    signer = signing_card(world, world.good)
    answer = identity_result(world, world.good, issued.json["challenge"])  # both keys (§9)
    token = token_for(rp, page.approve(answer, items))
    [consent] = consents(card_app)

    _import_income(card_app, consent.account_id, tmp_path)
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    assert rp.http.get("/userinfo", headers=bearer).status_code == 200
    income = card_app.test_client().get("/selfinfo/v1/income", headers=bearer)
    assert income.status_code == 200, income.get_data(as_text=True)

    _sign_a_contract(card_app, rp, consent.account_id, signer, world.good)

    again = open_consent(rp.http, rp.authorize(prompt="consent"))  # the session logs in
    assert again.decide("deny").status_code == 302

    _withdraw(rp.http, consent.id)
    _cli(card_app, "keys", "rotate", "--force")
    _cli(card_app, "client", "remove", rp.client_id)

    lines = captured.lines()  # each one parses as a JSON object
    events = [line for line in lines if line["logger"] == "idp.audit"]
    assert {line["event"] for line in events} == set(audit.EVENTS)
    for line in events:
        assert line["message"] == line["event"]
    by_event = {line["event"]: line for line in events}
    assert by_event["login.refused"]["reason"] == "revoked"
    assert by_event["login.refused"]["certificate"] == audit.ref_of(world.revoked.certificate)
    assert by_event["login.accepted"]["certificate"] == audit.ref_of(world.good.certificate)
    assert by_event["identity.verified"]["certificate"] == audit.ref_of(signer.certificate)
    assert by_event["consent.given"]["items"] == sorted(items)
    provided = {line["via"]: line["items"] for line in events if line["event"] == "data.provided"}
    assert provided["selfinfo"] == ["selfinfo:income"]
    assert set(provided) == {"token", "userinfo", "selfinfo", "document"}
    served = {"login", "consent", "data", "identity", "document"}  # the rest ran in commands
    assert all("request_id" in line for line in events if line["event"].split(".")[0] in served)

    text = captured.text
    secrets = [
        *_facts(),
        _b64url(world.good.certificate.public_bytes(Encoding.DER))[:40],
        _b64url(signer.certificate.public_bytes(Encoding.DER))[:40],
        f"{signer.certificate.serial_number:X}",
        token["access_token"],
        token["id_token"].split(".")[1][:40],
    ]
    found = [secret for secret in secrets if secret in text]
    assert found == [], f"personal data or secrets in the logs: {found}"


def test_the_fact_check_can_fail(captured):
    """The search above finds a fact if one is logged (here, the citizen's birthdate)."""
    import logging

    logging.getLogger("idp.test").info("born %s", CITIZEN.birthdate.isoformat())
    assert [fact for fact in _facts() if fact in captured.text] == [CITIZEN.birthdate.isoformat()]


def _import_income(app, account_id: str, folder) -> None:
    path = folder / "selfinfo.jsonl"
    record = {"account": account_id, "category": "income", "data": INCOME}
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    _cli(app, "selfinfo", "import", str(path))


def _sign_a_contract(app, service, account_id: str, signer, card) -> None:
    """The service submits a contract (digest only) for this citizen, who signs it with the
    signing key and, beside it, the authentication key of the card that logged in."""
    with app.app_context():
        from idp.oidc.clients import find_client

        sub = services(app)[SERVER].services.subjects.for_client(
            account_id, find_client(service.client_id)
        )
    body = {
        "sub": sub,
        "title": "住宅ローン契約書",
        "summary": "借入額 3,000万円",
        "digest": _b64url(hashlib.sha256(b"contract").digest()),
        "redirect_uri": service.redirect_uri,
        "state": "s-doc",
    }
    headers: dict = {}
    service.auth(body, headers)
    submitted = app.test_client().post("/documents", json=body, headers=headers)
    assert submitted.status_code == 201, submitted.get_data(as_text=True)
    review = open_review(service.http, submitted.json["document_id"])
    signed = review.post_result(
        document_answer(
            DocumentCard("", signer.certificate, signer.key, card.certificate, card.key),
            review.to_sign(),
        )
    )
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)


def _withdraw(http, consent_id: str) -> None:
    path = f"/account/consents/{consent_id}/revoke"
    page = http.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    done = http.post(path, data={"csrf_token": csrf})
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"].endswith("/revoked")
