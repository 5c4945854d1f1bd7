"""Dynamic client registration (RFC 7591): admin credential, validation, then a usable client."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from tests.conftest import REGISTRATION_TOKEN
from tests.oidc.rp import RelyingParty

ADMIN = REGISTRATION_TOKEN


def _register(app, body, token=ADMIN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post("/register", json=body, headers=headers)


def test_registered_private_key_jwt_client_can_log_in(registrar):
    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
    response = _register(
        registrar,
        {
            "client_name": "Bank",
            "redirect_uris": ["https://bank.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
            "require_pushed_authorization_requests": True,
            "dpop_bound_access_tokens": False,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert "client_secret" not in body
    assert body["require_pushed_authorization_requests"] is True
    rp = RelyingParty(
        registrar.test_client(), body["client_id"], "https://bank.example/cb", key=key
    )
    assert rp.push().status_code == 201


def test_registration_returns_a_secret_for_basic_clients_in_testing(registrar):
    body = _register(
        registrar,
        {
            "redirect_uris": ["https://dev.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ).json
    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0


@pytest.mark.parametrize("token", [None, "", "wrong", ADMIN + "x", "管理者トークン", ADMIN + "é"])
def test_registration_without_the_admin_credential_is_refused(registrar, token):
    response = _register(
        registrar,
        {
            "redirect_uris": ["https://x.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        token,
    )
    assert response.status_code in (401, 403)
    assert "client_id" not in (response.json or {})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {
                "redirect_uris": ["http://evil.example/cb"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            "invalid_redirect_uri",
        ),
        (
            {
                "redirect_uris": ["https://x.example/cb"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "invalid_client_metadata",
        ),
        (
            {"redirect_uris": ["https://x.example/cb"], "token_endpoint_auth_method": "none"},
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": ["https://x.example/cb"],
                "token_endpoint_auth_method": "client_secret_basic",
                "dpop_bound_access_tokens": "yes",
            },
            "invalid_client_metadata",
        ),
        (
            {
                "redirect_uris": "https://x.example/cb",
                "token_endpoint_auth_method": "client_secret_basic",
            },
            "invalid_client_metadata",
        ),
        ({}, "invalid_request"),
    ],
)
def test_bad_metadata_is_refused(registrar, body, error):
    response = _register(registrar, body)
    assert response.status_code == 400
    assert response.json["error"] in (error, "invalid_client_metadata", "invalid_redirect_uri")


def test_registration_is_off_without_an_admin_credential(provider):
    response = provider.test_client().post(
        "/register", json={}, headers={"Authorization": "Bearer anything"}
    )
    assert response.status_code == 404
    doc = provider.test_client().get("/.well-known/openid-configuration").json
    assert "registration_endpoint" not in doc


def test_discovery_announces_registration_when_on(registrar):
    doc = registrar.test_client().get("/.well-known/openid-configuration").json
    assert doc["registration_endpoint"].endswith("/register")


def test_both_jwks_and_jwks_uri_are_refused_without_a_5xx(registrar):
    key = RSAKey.generate_key(2048)
    response = _register(
        registrar,
        {
            "redirect_uris": ["https://x.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
            "jwks_uri": "https://x.example/jwks",
        },
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
