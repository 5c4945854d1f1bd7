"""The audit stream's smaller contracts: one module of names, the card's reference an operator
can compute, commands audited by their words only, and client writes from any path."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from flask.testing import FlaskCliRunner

from idp import audit
from idp.cli import main
from tests.conftest import REGISTRATION_TOKEN


def _events(captured, name: str) -> list[dict]:
    return [line for line in captured.lines() if line.get("event") == name]


def test_an_unknown_event_name_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown audit event"):
        audit.emit("login.acepted")


def test_event_names_are_unique_and_dotted():
    assert len(set(audit.EVENTS)) == len(audit.EVENTS)
    assert all(name.count(".") == 1 and name == name.lower() for name in audit.EVENTS)


@pytest.mark.parametrize("encoding", [Encoding.PEM, Encoding.DER])
def test_the_operator_computes_a_cards_reference_from_its_certificate(
    world, card_app, tmp_path, encoding
):
    path = tmp_path / "card.cer"
    path.write_bytes(world.good.certificate.public_bytes(encoding))
    result = FlaskCliRunner(card_app).invoke(main, ["audit", "certificate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        '{"certificate":"' + audit.ref_of(world.good.certificate) + '"}'
    )
    serial = f"{world.good.certificate.serial_number:X}"
    issuer = world.good.certificate.issuer.rfc4514_string()
    assert audit.ref_of(world.good.certificate) == audit.certificate_ref(issuer, serial.lower())


def test_a_file_that_is_not_a_certificate_is_refused(card_app, tmp_path):
    path = tmp_path / "card.cer"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    result = FlaskCliRunner(card_app).invoke(main, ["audit", "certificate", str(path)])
    assert result.exit_code == 1
    assert "not a certificate" in result.output


def test_a_failed_command_is_audited_by_its_words_without_its_arguments(card_app, captured):
    runner = FlaskCliRunner(card_app)
    assert runner.invoke(main, ["client", "remove", "no-such-client-4711"]).exit_code == 1
    [line] = _events(captured, audit.ADMIN_COMMAND)
    assert (line["command"], line["outcome"], line["error"]) == (
        "client remove",
        "failed",
        "ClickException",
    )
    assert "4711" not in captured.text
    assert _events(captured, audit.CLIENT_REMOVED) == []


def test_a_read_only_command_is_not_audited(card_app, captured):
    assert FlaskCliRunner(card_app).invoke(main, ["client", "list"]).exit_code == 0
    assert _events(captured, audit.ADMIN_COMMAND) == []


def test_registration_over_http_is_audited_with_the_request_id(registrar, captured):
    response = registrar.test_client().post(
        "/register",
        json={
            "client_name": "Bank",
            "redirect_uris": ["https://bank.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}", "X-Request-ID": "reg-000001"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    [line] = _events(captured, audit.CLIENT_REGISTERED)
    assert line["client_id"] == response.json["client_id"]
    assert line["request_id"] == "reg-000001"


def test_a_refused_registration_audits_nothing(registrar, captured):
    response = registrar.test_client().post(
        "/register",
        json={"client_name": "Bank", "redirect_uris": ["http://bank.example/cb"]},
        headers={"Authorization": "Bearer wrong-token"},
    )
    assert response.status_code == 401
    assert _events(captured, audit.CLIENT_REGISTERED) == []


def test_a_rolled_back_client_write_is_not_audited(card_app, captured):
    from idp.oidc.clients import register_client
    from idp.storage.db import db
    from idp.storage.models import Client

    with card_app.app_context():
        client, _ = register_client("Bank", ["https://bank.example/cb"], "client_secret_basic")
        client_id, key = client.client_id, client.id
        row = db.session.get(Client, key)
        row.name = "Renamed"
        db.session.flush()
        db.session.rollback()
        row = db.session.get(Client, key)
        row.name = "Renamed again"
        db.session.commit()
    changed = _events(captured, audit.CLIENT_CHANGED)
    assert [line["client_id"] for line in changed] == [client_id]
