"""OIDC suites run on SQLite unless a test asks for ``any_database_url`` (both databases)."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path}/idp.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idp.sqlite3"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def provider(database_url, tmp_path):
    """A testing IdP with the test authenticator, on SQLite."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(database_url)
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


def _register(app, http, auth_method, redirect="https://rp.example/cb", key=None, **policy):
    from idp.oidc.clients import register_client
    from tests.oidc.rp import RelyingParty

    jwks = None
    if key is not None and "jwks_uri" not in policy:
        jwks = {"keys": [key.as_dict(private=False)]}
    with app.app_context():
        client, secret = register_client("RP", [redirect], auth_method, jwks=jwks, **policy)
        client_id = client.client_id
    return RelyingParty(http, client_id, redirect, secret=secret, key=key)


@pytest.fixture
def make_rp(provider):
    """Register a client: make_rp("private_key_jwt", require_par=True, ...)."""
    from joserfc.jwk import RSAKey

    http = provider.test_client()

    def make(auth_method="client_secret_basic", http_client=None, **policy):
        key = None
        if auth_method == "private_key_jwt":
            key = policy.pop("key", None) or RSAKey.generate_key(
                2048, {"use": "sig"}, auto_kid=True
            )
        return _register(provider, http_client or http, auth_method, key=key, **policy)

    return make


@pytest.fixture
def rp(make_rp):
    """A development client (client_secret_basic)."""
    return make_rp()


@pytest.fixture
def jwt_rp(make_rp):
    """A production-style client (private_key_jwt)."""
    return make_rp("private_key_jwt")
