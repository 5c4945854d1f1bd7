"""Discovery and JWKS tell the truth about what the provider does."""

from __future__ import annotations

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet

from idp.oidc.authenticator import ACR_CARD_AUTH, ACR_SIGN_IDENTITY


def test_openid_configuration_validates_and_states_the_profile(provider):
    doc = provider.test_client().get("/.well-known/openid-configuration").json
    OpenIDProviderMetadata(doc).validate()
    assert doc["issuer"] == "http://127.0.0.1:8000"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert set(doc["subject_types_supported"]) == {"pairwise", "public"}
    assert doc["acr_values_supported"] == [ACR_CARD_AUTH, ACR_SIGN_IDENTITY]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]
    assert doc["pushed_authorization_request_endpoint"].endswith("/par")
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]


def test_oauth_metadata_is_the_same_document(provider):
    http = provider.test_client()
    doc = http.get("/.well-known/oauth-authorization-server").json
    AuthorizationServerMetadata(doc).validate()
    assert doc == http.get("/.well-known/openid-configuration").json


def test_endpoints_advertised_are_served(provider):
    http = provider.test_client()
    doc = http.get("/.well-known/openid-configuration").json
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "pushed_authorization_request_endpoint",
    ):
        path = doc[name].removeprefix(doc["issuer"])
        assert http.open(path, method="OPTIONS").status_code == 200, name


def test_jwks_is_a_public_key_set_with_kids(provider):
    jwks = provider.test_client().get("/jwks").json
    keys = KeySet.import_key_set(jwks)
    assert not any(k.is_private for k in keys.keys)
    assert all(k["kid"] and k["use"] == "sig" for k in jwks["keys"])


def test_production_does_not_offer_client_secret_basic(tmp_path):
    from idp.config import Config
    from idp.oidc.discovery import metadata
    from tests.conftest import idp_test_config, make_app

    app = make_app(idp_test_config(f"sqlite:///{tmp_path}/d.sqlite3"), tmp_path / "i")
    config = idp_test_config("", environment="production", issuer="https://idp.example.jp")
    with app.test_request_context():
        doc = metadata(config)
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["authorization_endpoint"] == "https://idp.example.jp/authorize"
    assert isinstance(config, Config)
