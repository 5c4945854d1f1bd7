"""Per-client signing algorithm (``id_token_signed_response_alg``): one rule for ID tokens and
access tokens, so a FAPI 2.0 client (PS256/ES256) never gets an RS256 token."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from idp.config import AdminConfig, KeysConfig
from idp.oidc.clients import ClientRejected, register_client
from idp.oidc.openid import client_signing_alg
from idp.services import services
from idp.storage.db import db
from idp.storage.models import Client
from tests.conftest import REGISTRATION_TOKEN, drop_schema, idp_test_config, make_app

ADMIN = REGISTRATION_TOKEN
ES256, RS256 = "ES256", "RS256"
BAD_VALUES = ["none", "HS256", "RS512", 5, "", "es256"]


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(Client)).scalar_one()


def _verified(provider, token: str, alg: str):
    """Decode ``token`` with the IdP's published keys, accepting only ``alg``."""
    jwks = provider.test_client().get("/jwks").json
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])
    published = {k["kid"]: k for k in jwks["keys"]}
    assert decoded.header["alg"] == alg
    assert published[decoded.header["kid"]]["alg"] == alg
    return decoded


def _refresh(rp, refresh_token: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers)


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_client_alg_signs_id_token_and_access_token(provider, make_rp, alg):
    rp = make_rp("private_key_jwt", id_token_signed_response_alg=alg)
    tokens = rp.tokens()
    id_token = _verified(provider, tokens["id_token"], alg)
    assert id_token.claims["aud"] == [rp.client_id]
    access = _verified(provider, tokens["access_token"], alg)
    assert access.header["typ"] == "at+jwt"
    assert access.claims["client_id"] == rp.client_id
    userinfo = rp.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert userinfo.status_code == 200, userinfo.get_data(as_text=True)
    assert userinfo.json["sub"] == id_token.claims["sub"]


def test_refreshed_access_token_keeps_the_client_alg(provider, make_rp):
    rp = make_rp("client_secret_basic", id_token_signed_response_alg=ES256)
    first = rp.tokens()
    response = _refresh(rp, first["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    _verified(provider, response.json["access_token"], "ES256")


def test_client_without_alg_gets_rs256(provider, rp):
    tokens = rp.tokens()
    _verified(provider, tokens["id_token"], "RS256")
    _verified(provider, tokens["access_token"], "RS256")
    with provider.app_context():
        client = db.session.execute(db.select(Client)).scalar_one()
        assert "id_token_signed_response_alg" not in client.client_metadata


@pytest.mark.parametrize("value", BAD_VALUES)
def test_register_client_refuses_bad_alg_and_stores_nothing(provider, value):
    with provider.app_context(), pytest.raises(ClientRejected, match="id_token_signed_response"):
        register_client(
            "Bank",
            ["https://bank.example/cb"],
            "client_secret_basic",
            id_token_signed_response_alg=value,
        )
    assert _count(provider) == 0


def test_production_refuses_rs256_even_for_a_par_dpop_client(provider):
    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
    with provider.app_context(), pytest.raises(ClientRejected, match=r"PS256 or ES256 \(has RS256"):
        register_client(
            "Bank",
            ["https://bank.example/cb"],
            "private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
            require_par=True,
            require_dpop=True,
            production=True,
            id_token_signed_response_alg=RS256,
        )
    assert _count(provider) == 0


@pytest.fixture
def rsa_only(tmp_path):
    """An operator who offers RS256 and PS256 only, with dynamic registration on."""
    config = idp_test_config(
        f"sqlite:///{tmp_path}/rsa.sqlite3",
        admin=AdminConfig(registration_token=ADMIN),
        keys=KeysConfig(reload_seconds=0, min_publish_seconds=0, algorithms=("RS256", "PS256")),
    )
    app = make_app(config, tmp_path / "instance", cardless_login=True)
    yield app
    drop_schema(app)


def test_alg_without_operator_keys_is_refused(rsa_only):
    with rsa_only.app_context(), pytest.raises(ClientRejected, match=r"\('RS256', 'PS256'\)"):
        register_client(
            "Bank",
            ["https://bank.example/cb"],
            "client_secret_basic",
            id_token_signed_response_alg=ES256,
        )
    response = _post_registration(rsa_only, {"id_token_signed_response_alg": "ES256"})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
    assert _count(rsa_only) == 0


def test_rule_falls_back_to_default_when_operator_drops_the_alg(rsa_only):
    """A client registered for ES256 before the operator dropped ES256 is not left without
    tokens: it gets the default; everything that has keys is used as registered."""
    keys = services(rsa_only).config.keys
    with rsa_only.app_context():
        client = Client(client_id="x", name="x", sector_identifier="x")
        client.set_client_metadata({"id_token_signed_response_alg": "ES256"})
        assert client_signing_alg(client, keys) == "RS256"
        client.set_client_metadata({"id_token_signed_response_alg": "PS256"})
        assert client_signing_alg(client, keys) == "PS256"
        client.set_client_metadata({})
        assert client_signing_alg(client, keys) == "RS256"


def _post_registration(app, extra: dict):
    body = {
        "client_name": "Bank",
        "redirect_uris": ["https://bank.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        **extra,
    }
    headers = {"Authorization": f"Bearer {ADMIN}"}
    return app.test_client().post("/register", json=body, headers=headers)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_registration_endpoint_refuses_bad_alg(registrar, value):
    response = _post_registration(registrar, {"id_token_signed_response_alg": value})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_client_metadata"
    assert _count(registrar) == 0


def test_registration_endpoint_stores_and_returns_es256_and_tokens_use_it(registrar):
    from tests.oidc.rp import RelyingParty

    response = _post_registration(registrar, {"id_token_signed_response_alg": "ES256"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert body["id_token_signed_response_alg"] == ES256
    rp = RelyingParty(
        registrar.test_client(), body["client_id"], "https://bank.example/cb", body["client_secret"]
    )
    tokens = rp.tokens()
    _verified(registrar, tokens["id_token"], "ES256")
    _verified(registrar, tokens["access_token"], "ES256")


def test_registration_endpoint_without_alg_stores_nothing_and_answers_rs256(registrar):
    response = _post_registration(registrar, {})
    assert response.status_code == 201
    assert response.json["id_token_signed_response_alg"] == RS256
    with registrar.app_context():
        client = db.session.execute(db.select(Client)).scalar_one()
        assert "id_token_signed_response_alg" not in client.client_metadata
