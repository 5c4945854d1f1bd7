"""Production serves FAPI 2.0 clients only: PAR required, DPoP-bound tokens, private_key_jwt,
PS256/ES256 (FAPI 2.0 Security Profile §5). Registration (``/register``, ``idp client add``)
refuses anything less, saying what is missing; a production process refuses to start while such
a client is stored, listing each; development registers it with a warning. Real PostgreSQL."""

from __future__ import annotations

import json
import logging
import secrets
import time

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from idp.cli import main
from idp.config import AdminConfig, Config, DatabaseConfig
from idp.jpki.certificate import fingerprint
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.services import services
from tests.conftest import (
    REGISTRATION_TOKEN,
    drop_schema,
    idp_test_config,
    make_app,
    operator_config,
)
from tests.oidc.rp import RelyingParty, dpop_proof
from tests.oidc.test_environments import _root_folder

ISSUER = "https://idp.example.jp"
ADMIN = "admin-" + "p" * 40
REDIRECT = "https://bank.example/cb"
FAPI = {
    "client_name": "Bank",
    "redirect_uris": [REDIRECT],
    "token_endpoint_auth_method": "private_key_jwt",
    "require_pushed_authorization_requests": True,
    "dpop_bound_access_tokens": True,
    "id_token_signed_response_alg": "ES256",
}


def _anchors(tmp_path) -> tuple[dict, frozenset]:
    """Stand-in J-LIS roots (not JPKI-TEST) per type, and their pins."""
    folders, pins = {}, set()
    for kind in CertificateType:
        folders[kind], root = _root_folder(tmp_path / "trust" / kind.value, "J-LIS")
        pins.add(fingerprint(root))
    return folders, frozenset(pins)


def production_config(tmp_path, database_url: str) -> Config:
    folders, pins = _anchors(tmp_path)
    return Config(
        environment="production",
        issuer=ISSUER,
        secret_key="s" * 48,
        database=DatabaseConfig(url=database_url),
        admin=AdminConfig(registration_token=ADMIN),
        operator=operator_config(),
        jpki=JpkiSettings(
            trust_anchors=folders, pinned_fingerprints=pins, crl_index_dir=tmp_path / "crl"
        ),
    )


@pytest.fixture
def production(postgres_url, tmp_path):
    """A production IdP on PostgreSQL, dynamic registration on."""
    app = make_app(production_config(tmp_path, postgres_url), tmp_path / "instance")
    yield app
    drop_schema(app)


def _register(app, body):
    headers = {"Authorization": f"Bearer {ADMIN}"}
    return app.test_client().post("/register", json=body, headers=headers, base_url=ISSUER)


def _jwks(key) -> dict:
    return {"keys": [key.as_dict(private=False)]}


@pytest.mark.parametrize(
    ("change", "lacking"),
    [
        ({"require_pushed_authorization_requests": False}, "require_pushed_authorization_requests"),
        ({"dpop_bound_access_tokens": False}, "dpop_bound_access_tokens"),
        ({"require_pushed_authorization_requests": None}, "require_pushed_authorization_requests"),
        ({"dpop_bound_access_tokens": None}, "dpop_bound_access_tokens"),
        ({"id_token_signed_response_alg": "RS256"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": None}, "id_token_signed_response_alg"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "client_secret_basic"),
    ],
)
def test_register_refuses_what_is_not_a_fapi_client(production, change, lacking):
    key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    body = {k: v for k, v in {**FAPI, "jwks": _jwks(key), **change}.items() if v is not None}
    response = _register(production, body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_client_metadata"
    assert lacking in response.json["error_description"]
    from idp.storage.db import db
    from idp.storage.models import Client

    with production.app_context():
        assert db.session.execute(db.select(Client)).first() is None


def test_register_accepts_a_fapi_client_in_production(production):
    key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    response = _register(production, {**FAPI, "jwks": _jwks(key)})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert body["require_pushed_authorization_requests"] is True
    assert body["dpop_bound_access_tokens"] is True
    assert body["id_token_signed_response_alg"] == FAPI["id_token_signed_response_alg"]


def test_discovery_says_what_production_enforces(production):
    doc = production.test_client().get("/.well-known/openid-configuration").json
    assert doc["require_pushed_authorization_requests"] is True
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["PS256", "ES256"]
    assert set(doc["id_token_signing_alg_values_supported"]) <= {"PS256", "ES256"}
    assert doc["dpop_signing_alg_values_supported"] == ["PS256", "ES256"]


def test_discovery_outside_production_still_offers_the_rest(tmp_path):
    app = make_app(idp_test_config(f"sqlite:///{tmp_path}/d.sqlite3"), tmp_path / "i")
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert doc["require_pushed_authorization_requests"] is False
    assert "RS256" in doc["token_endpoint_auth_signing_alg_values_supported"]


def _assertion(client_id: str, key, alg: str) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": secrets.token_hex(8)}
    claims |= {"iat": now, "exp": now + 60}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def test_production_takes_ps256_client_assertions_and_refuses_rs256(production):
    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
    body = {**FAPI, "jwks": _jwks(key), "id_token_signed_response_alg": "PS256"}
    client_id = _register(production, body).json["client_id"]
    http = production.test_client()
    rp = RelyingParty(http, client_id, REDIRECT, key=key)

    def push(alg):
        return http.post(
            "/par",
            base_url=ISSUER,
            data={
                **rp.authorization_params(dpop_jkt=key.thumbprint()),  # FAPI: DPoP required
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": _assertion(client_id, key, alg),
            },
        )

    refused = push("RS256")
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert refused.json["error"] == "invalid_client"
    assert "PS256, ES256" in refused.json["error_description"]
    accepted = push("PS256")
    assert accepted.status_code == 201, accepted.get_data(as_text=True)


# --- idp client add and start-up -------------------------------------------------------------


def _operator_table() -> str:
    """The ``[operator]`` table production requires, from the tests' operator."""
    operator = operator_config()
    return "[operator]\n" + "".join(
        f"{name} = {json.dumps(value)}\n" for name, value in operator.__dict__.items()
    )


def _production_file(tmp_path) -> str:
    folders, pins = _anchors(tmp_path)
    path = tmp_path / "production.toml"
    path.write_text(
        f'environment = "production"\nissuer = "{ISSUER}"\n' + _operator_table() + "[jpki]\n"
        f"pinned_fingerprints = {json.dumps(sorted(pins))}\n"
        f'crl_index_dir = "{tmp_path / "crl"}"\n[jpki.trust_anchors]\n'
        + "".join(f'{kind.value} = "{folder}"\n' for kind, folder in folders.items())
    )
    return str(path)


@pytest.fixture
def cli(postgres_url, tmp_path, monkeypatch):
    """``idp …`` in production (``cli("…")``) or development (``cli("…", env="development")``)
    on one PostgreSQL database; returns the click result."""
    production_file = _production_file(tmp_path)
    monkeypatch.setenv("IDP_DATABASE_URL", postgres_url)
    monkeypatch.setenv("IDP_SECRET_KEY", "c" * 48)

    def invoke(*args, env="production"):
        if env == "production":
            monkeypatch.setenv("IDP_CONFIG", production_file)
            monkeypatch.delenv("IDP_ENV", raising=False)
        else:
            monkeypatch.delenv("IDP_CONFIG", raising=False)
            monkeypatch.setenv("IDP_ENV", env)
        return CliRunner().invoke(main, list(args))

    assert invoke("db", "upgrade").exit_code == 0
    yield invoke
    invoke("db", "downgrade", "base")


def _add(cli, *options, env="production", jwks=None):
    args = ["client", "add", "--name", "Bank", "--redirect-uri", REDIRECT, *options]
    if jwks:
        args += ["--jwks-file", jwks]
    return cli(*args, env=env)


@pytest.fixture
def jwks_file(tmp_path) -> str:
    key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks(key)))
    return str(path)


FAPI_OPTIONS = ("--auth-method", "private_key_jwt", "--require-par", "--require-dpop")


@pytest.mark.parametrize(
    ("drop", "lacking"),
    [
        ("--require-par", "require_pushed_authorization_requests"),
        ("--require-dpop", "dpop_bound_access_tokens"),
        ("--id-token-alg", "id_token_signed_response_alg PS256 or ES256 (has RS256)"),
    ],
)
def test_client_add_refuses_what_is_not_a_fapi_client(cli, jwks_file, drop, lacking):
    options = [o for o in (*FAPI_OPTIONS, "--id-token-alg", "PS256") if o != drop]
    if drop == "--id-token-alg":
        options.remove("PS256")
    result = _add(cli, *options, jwks=jwks_file)
    assert result.exit_code == 1, result.output
    assert "production registers FAPI 2.0 clients only" in result.stderr
    assert lacking in result.stderr
    assert cli("client", "list").stdout == ""


def test_client_add_registers_a_fapi_client_in_production(cli, jwks_file):
    result = _add(cli, *FAPI_OPTIONS, "--id-token-alg", "ES256", jwks=jwks_file)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["token_endpoint_auth_method"] == FAPI_OPTIONS[1]
    assert "warning" not in result.stderr


def test_start_up_refuses_stored_clients_that_are_not_fapi_and_lists_them(cli, jwks_file):
    from idp import wsgi

    good = _add(cli, *FAPI_OPTIONS, "--id-token-alg", "ES256", jwks=jwks_file)
    assert good.exit_code == 0, good.output
    # An older release (or development on this database) stored these.
    plain = _add(cli, "--auth-method", "client_secret_basic", env="development")
    assert plain.exit_code == 0, plain.output
    assert "warning: not a FAPI 2.0 client" in plain.stderr  # development: loudly
    rs256 = _add(cli, *FAPI_OPTIONS, jwks=jwks_file, env="development")
    plain_id = json.loads(plain.stdout)["client_id"]
    rs256_id = json.loads(rs256.stdout)["client_id"]
    good_id = json.loads(good.stdout)["client_id"]

    cli("client", "list")  # production environment again
    with pytest.raises(wsgi.StartRefused) as refused:
        wsgi.build()
    why = str(refused.value)
    assert "2 stored client(s) are not" in why
    assert f"{plain_id} lacks token_endpoint_auth_method private_key_jwt" in why
    assert f"{rs256_id} lacks id_token_signed_response_alg PS256 or ES256 (has RS256)" in why
    assert good_id not in why

    run = cli("run", "--port", "1")
    assert run.exit_code == 1
    assert plain_id in run.stderr
    assert rs256_id in run.stderr

    for client_id in (plain_id, rs256_id):
        assert cli("client", "remove", client_id).exit_code == 0
    app = wsgi.build()  # migrated: serves
    assert services(app).config.environment == "production"


def test_register_outside_production_warns(registrar, caplog):
    key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    body = {**FAPI, "jwks": _jwks(key), "dpop_bound_access_tokens": False}
    headers = {"Authorization": f"Bearer {REGISTRATION_TOKEN}"}
    with caplog.at_level(logging.WARNING, logger="idp.oidc.clients"):
        response = registrar.test_client().post("/register", json=body, headers=headers)
    assert response.status_code == 201
    assert "not a FAPI 2.0 client" in caplog.text
    assert "dpop_bound_access_tokens" in caplog.text


def test_production_takes_es256_dpop_proofs_and_refuses_rs256(production):
    client_key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    client_id = _register(production, {**FAPI, "jwks": _jwks(client_key)}).json["client_id"]
    http = production.test_client()
    rp = RelyingParty(http, client_id, REDIRECT, key=client_key)

    def push(proof):
        form = {
            **rp.authorization_params(),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _assertion(client_id, client_key, "ES256"),
        }
        return http.post("/par", base_url=ISSUER, data=form, headers={"DPoP": proof})

    rsa = RSAKey.generate_key(2048)
    refused = push(dpop_proof(rsa, "POST", f"{ISSUER}/par", h_alg="RS256"))
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert refused.json["error"] == "invalid_dpop_proof"
    ec = ECKey.generate_key("P-256")
    accepted = push(dpop_proof(ec, "POST", f"{ISSUER}/par"))  # no nonce at PAR by default
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
