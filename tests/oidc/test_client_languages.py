"""A client's name and purpose per language (OIDC Registration §2.1, ``client_name#ja``):
accepted by dynamic registration and ``idp client add``, checked like the untagged values,
stored, and refused when malformed."""

from __future__ import annotations

import json

import pytest

from idp.oidc.clients import ClientRejected, register_client
from idp.storage.db import db
from idp.storage.models import Client
from tests.conftest import REGISTRATION_TOKEN
from tests.oidc.test_cli import idp  # noqa: F401 (fixture)

BODY = {
    "client_name": "Sample Bank",
    "client_name#ja": "サンプル銀行",
    "client_name#en-US": "Sample Bank (US)",
    "purpose": "Mortgage screening",
    "purpose#ja": "住宅ローンの審査のため",
    "redirect_uris": ["https://bank.example/cb"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def _metadata(app, client_id: str) -> dict:
    with app.app_context():
        found = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one()
        return dict(found.client_metadata)


def test_registration_keeps_the_tagged_names_and_purposes(registrar):
    headers = {"Authorization": f"Bearer {REGISTRATION_TOKEN}"}
    response = registrar.test_client().post("/register", json=BODY, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["client_name#ja"] == "サンプル銀行"
    stored = _metadata(registrar, response.json["client_id"])
    assert stored["client_name#ja"] == "サンプル銀行"
    assert stored["client_name#en-US"] == "Sample Bank (US)"
    assert stored["purpose#ja"] == "住宅ローンの審査のため"
    assert stored["client_name"] == "Sample Bank"


@pytest.mark.parametrize(
    ("member", "value", "reason"),
    [
        ("client_name#ja", 5, "client_name must be a string"),
        ("client_name#ja", "", "client_name#ja must be a text of 1 to 200"),
        ("client_name#ja", "銀\u202e行", "control characters"),
        ("purpose#en", "ab", "purpose#en must be a text of 3 to 300"),
        ("client_name#", "Bank", "BCP 47"),
        ("client_name#j@", "Bank", "BCP 47"),
    ],
)
def test_malformed_tagged_members_are_refused(registrar, member, value, reason):
    headers = {"Authorization": f"Bearer {REGISTRATION_TOKEN}"}
    body = {**BODY, member: value}
    response = registrar.test_client().post("/register", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
    assert reason in response.json["error_description"]


def test_too_many_tagged_members_are_refused(app):
    many = {f"client_name#x{i:02d}": "Bank" for i in range(11)}
    with app.app_context(), pytest.raises(ClientRejected, match="at most 10"):
        register_client("Bank", ["https://bank.example/cb"], "client_secret_basic", localized=many)


def test_client_add_takes_the_name_and_purpose_per_language(idp, tmp_path):  # noqa: F811
    code, out = idp(
        "client", "add", "--name", "Sample Bank", "--redirect-uri", "http://127.0.0.1:8001/cb",
        "--auth-method", "client_secret_basic", "--name-ja", "サンプル銀行",
        "--purpose", "Mortgage screening", "--purpose-en", "To screen your mortgage",
    )  # fmt: skip
    assert code == 0, out
    client_id = json.loads(out)["client_id"]
    code, out = idp("client", "show", client_id)
    assert code == 0, out
    mine = json.loads(out)
    assert mine["client_name#ja"] == "サンプル銀行"
    assert mine["purpose#en"] == "To screen your mortgage"
    assert "client_name#en" not in mine
