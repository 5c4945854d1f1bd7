"""The eKYC client metadata: trust_framework, purpose, retention_days.

One validation for ``idp client add`` and dynamic registration (RFC 7591); shown by
``idp client show``; read by the consent core from ``client_metadata``.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.oidc.clients import ClientRejected, find_client, register_client
from tests.conftest import REGISTRATION_TOKEN

ADMIN = REGISTRATION_TOKEN
PURPOSE = "住宅ローンの審査と契約のための本人確認"
BASE = {
    "client_name": "Bank",
    "redirect_uris": ["https://bank.example/cb"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def _add(app, **policy):
    with app.app_context():
        client, _ = register_client(
            "Bank", ["https://bank.example/cb"], "client_secret_basic", **policy
        )
        return find_client(client.client_id).client_metadata


def test_policy_is_stored_in_the_client_metadata(registrar):
    metadata = _add(registrar, trust_framework="jp_aml", purpose=PURPOSE, retention_days=2555)
    assert (metadata["trust_framework"], metadata["purpose"], metadata["retention_days"]) == (
        "jp_aml",
        PURPOSE,
        2555,
    )


def test_policy_is_optional(registrar):
    metadata = _add(registrar)
    assert not {"trust_framework", "purpose", "retention_days"} & set(metadata)


BAD = {
    "unknown framework": {"trust_framework": "eidas"},
    "framework not a string": {"trust_framework": ["jp_aml"]},
    "purpose too short": {"purpose": "ab"},
    "purpose only spaces": {"purpose": "      "},
    "purpose too long": {"purpose": "x" * 301},
    "purpose with a newline": {"purpose": "本人確認\nのため"},
    "purpose with a bidi override": {"purpose": "本人確認\u202eのため"},
    "purpose not text": {"purpose": 42},
    "retention zero": {"retention_days": 0},
    "retention negative": {"retention_days": -5},
    "retention huge": {"retention_days": 10**6},
    "retention boolean": {"retention_days": True},
    "retention text": {"retention_days": "365"},
    "retention fraction": {"retention_days": 1.5},
}


@pytest.mark.parametrize("policy", BAD.values(), ids=BAD.keys())
def test_bad_policy_is_refused_and_nothing_is_stored(registrar, policy):
    from idp.storage.db import db
    from idp.storage.models import Client

    with registrar.app_context():
        with pytest.raises(ClientRejected) as refused:
            register_client("Bank", ["https://bank.example/cb"], "client_secret_basic", **policy)
        assert refused.value.error == "invalid_client_metadata"
        assert db.session.execute(db.select(Client)).first() is None


def _register(app, body):
    headers = {"Authorization": f"Bearer {ADMIN}"}
    return app.test_client().post("/register", json=body, headers=headers)


def test_dynamic_registration_accepts_and_echoes_the_policy(registrar):
    body = {**BASE, "trust_framework": "jp_mpiupa", "purpose": PURPOSE, "retention_days": 90}
    response = _register(registrar, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.json
    assert (answer["trust_framework"], answer["purpose"], answer["retention_days"]) == (
        "jp_mpiupa",
        PURPOSE,
        90,
    )
    with registrar.app_context():
        assert find_client(answer["client_id"]).client_metadata["trust_framework"] == "jp_mpiupa"


@pytest.mark.parametrize("policy", BAD.values(), ids=BAD.keys())
def test_dynamic_registration_refuses_bad_policy(registrar, policy):
    response = _register(registrar, {**BASE, **policy})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"


@pytest.fixture
def idp(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        # scripts read stdout; stderr has warnings (a non-FAPI client outside production)
        return result.exit_code, result.stdout if result.exit_code == 0 else result.output

    assert invoke("db", "upgrade")[0] == 0
    return invoke


ADD = ("client", "add", "--name", "Bank", "--redirect-uri", "http://127.0.0.1:8001/cb",
       "--auth-method", "client_secret_basic")  # fmt: skip


def test_cli_add_takes_the_policy_and_show_prints_it(idp):
    code, out = idp(*ADD, "--trust-framework", "jp_aml", "--purpose", PURPOSE,
                    "--retention-days", "2555")  # fmt: skip
    assert code == 0, out
    client_id = json.loads(out)["client_id"]
    code, out = idp("client", "show", client_id)
    shown = json.loads(out)
    assert (shown["trust_framework"], shown["purpose"], shown["retention_days"]) == (
        "jp_aml",
        PURPOSE,
        2555,
    )


@pytest.mark.parametrize(
    "options",
    [("--trust-framework", "eidas"), ("--retention-days", "0"), ("--retention-days", "soon"),
     ("--purpose", "ab")],
)  # fmt: skip
def test_cli_add_refuses_bad_policy_with_a_reason(idp, options):
    code, out = idp(*ADD, *options)
    assert code != 0
    assert out.strip()
    _, listed = idp("client", "list")
    assert listed.strip() == ""
