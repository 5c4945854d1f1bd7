"""The ``idp`` command: its JSON contract, and the same configuration as ``idp run``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from joserfc.jwk import RSAKey

from idp.cli import main


@pytest.fixture
def idp(tmp_path, monkeypatch):
    """Run ``idp …`` on a fresh SQLite database and return (exit code, output lines)."""
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")
    runner = CliRunner()

    def invoke(*args, env=None):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        # scripts read stdout; stderr has warnings (a non-FAPI client outside production)
        return result.exit_code, result.stdout if result.exit_code == 0 else result.output

    assert invoke("db", "upgrade")[0] == 0
    return invoke


def _lines(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_client_add_basic_prints_one_json_line_with_id_and_secret(idp):
    code, out = idp(
        "client",
        "add",
        "--name",
        "Dev",
        "--redirect-uri",
        "http://127.0.0.1:8001/cb",
        "--auth-method",
        "client_secret_basic",
    )
    assert code == 0
    assert len(out.splitlines()) == 1
    line = json.loads(out)
    assert line["client_id"]
    assert line["client_secret"]


def test_client_add_private_key_jwt_reads_jwks_file_and_prints_no_secret(idp, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [RSAKey.generate_key(2048).as_dict(private=False)]}))
    code, out = idp(
        "client",
        "add",
        "--name",
        "Bank",
        "--redirect-uri",
        "https://bank.example/cb",
        "--redirect-uri",
        "https://bank.example/cb2",
        "--jwks-file",
        str(jwks),
        "--auth-method",
        "private_key_jwt",
        "--require-par",
        "--require-dpop",
        "--subject-type",
        "public",
    )
    assert code == 0
    client_id = json.loads(out)["client_id"]
    assert "client_secret" not in json.loads(out)
    code, out = idp("client", "show", client_id)
    shown = json.loads(out)
    assert (shown["require_par"], shown["require_dpop"], shown["subject_type"]) == (
        True,
        True,
        "public",
    )
    assert shown["redirect_uris"] == ["https://bank.example/cb", "https://bank.example/cb2"]
    assert "client_secret" not in out


def test_client_list_show_remove(idp):
    _, out = idp(
        "client",
        "add",
        "--name",
        "Dev",
        "--redirect-uri",
        "https://a.example/cb",
        "--auth-method",
        "client_secret_basic",
    )
    client_id = json.loads(out)["client_id"]
    assert [c["client_id"] for c in _lines(idp("client", "list")[1])] == [client_id]
    assert idp("client", "remove", client_id)[0] == 0
    assert _lines(idp("client", "list")[1]) == []
    code, out = idp("client", "show", client_id)
    assert code == 1
    assert "no client" in out


def test_client_add_refusal_exits_nonzero_with_reason(idp):
    code, out = idp(
        "client",
        "add",
        "--name",
        "Bank",
        "--redirect-uri",
        "https://bank.example/cb",
        "--auth-method",
        "private_key_jwt",
    )
    assert code == 1
    assert "needs jwks" in out
    assert _lines(idp("client", "list")[1]) == []


def test_client_add_rejects_unknown_auth_method(idp):
    code, out = idp(
        "client",
        "add",
        "--name",
        "Bank",
        "--redirect-uri",
        "https://bank.example/cb",
        "--auth-method",
        "none",
    )
    assert code == 2
    assert "private_key_jwt" in out


def test_keys_list_then_rotate_with_overlap(idp):
    listed = _lines(idp("keys", "list")[1])
    assert sorted({k["alg"] for k in listed}) == ["ES256", "PS256", "RS256"]
    code, out = idp("keys", "rotate")
    assert code == 1
    assert "--force" in out
    code, out = idp("keys", "rotate", "--force")
    states = sorted(k["state"] for k in _lines(out) if k["alg"] == "RS256")
    assert (code, states) == (0, ["current", "next", "retired"])


def test_commands_refuse_a_refused_configuration_with_its_reason(idp):
    code, out = idp("client", "list", env={"IDP_PROCESSES": "3"})
    assert code == 1
    assert "configuration refused" in out
    assert "Redis" in out


def test_jpki_group_runs_on_the_configuration(idp, tmp_path):
    not_a_certificate = tmp_path / "x.pem"
    not_a_certificate.write_text("hello")
    code, out = idp("jpki", "check", str(not_a_certificate))
    assert code == 1
    assert json.loads(out)["status"] == "malformed"


def test_status_poll_without_a_source_says_what_to_configure(idp):
    code, out = idp("jpki", "status-poll")
    assert code == 1
    assert "[jpki.revocation_feed]" in out


def test_run_refuses_a_database_that_is_not_migrated(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/empty.sqlite3")
    monkeypatch.setenv("IDP_SECRET_KEY", "cli-test-secret")
    monkeypatch.delenv("IDP_CONFIG", raising=False)
    monkeypatch.setenv("IDP_ENV", "development")
    result = CliRunner().invoke(main, ["run", "--port", "1"])
    assert result.exit_code == 1
    assert "idp db upgrade" in result.output


ES256 = "ES256"


def _add(idp, *extra, env=None):
    args = ["client", "add", "--name", "Bank", "--redirect-uri", "https://bank.example/cb"]
    return idp(*args, "--auth-method", "client_secret_basic", *extra, env=env)


def test_client_add_id_token_alg_is_shown(idp):
    code, out = _add(idp, "--id-token-alg", "ES256")
    assert code == 0, out
    client_id = json.loads(out)["client_id"]
    shown = json.loads(idp("client", "show", client_id)[1])
    assert shown["id_token_signed_response_alg"] == ES256


def test_client_add_without_id_token_alg_stores_none(idp):
    client_id = json.loads(_add(idp)[1])["client_id"]
    assert "id_token_signed_response_alg" not in json.loads(idp("client", "show", client_id)[1])


@pytest.mark.parametrize("value", ["none", "HS256", "RS512", "5", "es256"])
def test_client_add_refuses_other_id_token_algs(idp, value):
    code, out = _add(idp, "--id-token-alg", value)
    assert code == 2
    assert "ES256" in out
    assert _lines(idp("client", "list")[1]) == []


def test_client_add_refuses_an_alg_the_operator_has_no_keys_for(idp, tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text('[keys]\nalgorithms = ["RS256", "PS256"]\n')
    code, out = _add(idp, "--id-token-alg", "ES256", env={"IDP_CONFIG": str(config)})
    assert code == 1
    assert "id_token_signed_response_alg must be one of ('RS256', 'PS256')" in out
    assert _lines(idp("client", "list")[1]) == []
