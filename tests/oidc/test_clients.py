"""Client registration: every refusal names its reason and stores nothing."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from idp.oidc.clients import ClientRejected, find_client, register_client, remove_client
from idp.storage.db import db
from idp.storage.models import Client

CB = ["https://bank.example/cb"]


@pytest.fixture
def public_jwks():
    return {"keys": [RSAKey.generate_key(2048).as_dict(private=False)]}


def _count():
    return db.session.execute(db.select(db.func.count()).select_from(Client)).scalar_one()


def test_private_key_jwt_client_is_stored_without_secret(app, public_jwks):
    with app.app_context():
        client, secret = register_client("Bank", CB, "private_key_jwt", jwks=public_jwks)
        assert secret is None
        assert client.client_secret is None
        assert find_client(client.client_id).jwks == public_jwks


def test_basic_client_gets_a_random_secret_checked_against_its_digest(app):
    with app.app_context():
        client, secret = register_client("Dev", CB, "client_secret_basic")
        assert len(secret) >= 43
        assert find_client(client.client_id).check_client_secret(secret)


def test_pairwise_sector_is_the_redirect_host(app):
    with app.app_context():
        client, _ = register_client(
            "Dev", [*CB, "https://bank.example/other"], "client_secret_basic"
        )
        assert client.sector_identifier == "bank.example"


@pytest.fixture
def sector_server():
    """A relying party's sector_identifier_uri document, served on loopback."""
    from flask import Flask, jsonify

    from tests.oidc.live import free_port, serving

    served = Flask("sector")
    listed = ["https://a.example/cb", "https://b.example/cb"]
    served.add_url_rule("/uris.json", "uris", lambda: jsonify(listed))
    served.add_url_rule("/broken.json", "broken", lambda: "not json")
    port = free_port()
    with serving(served, port) as url:
        yield url


def test_sector_identifier_uri_sets_the_sector_when_it_lists_every_redirect(app, sector_server):
    with app.app_context():
        client, _ = register_client(
            "Dev",
            ["https://a.example/cb", "https://b.example/cb"],
            "client_secret_basic",
            sector_identifier_uri=sector_server + "/uris.json",
        )
        assert client.sector_identifier == "127.0.0.1"


@pytest.mark.parametrize(
    ("redirects", "path", "reason"),
    [
        (["https://a.example/cb", "https://c.example/cb"], "/uris.json", "every redirect URI"),
        (["https://a.example/cb"], "/broken.json", "JSON array"),
        (["https://a.example/cb"], "/missing.json", "JSON array"),
    ],
)
def test_sector_identifier_uri_that_does_not_vouch_is_refused(
    app, sector_server, redirects, path, reason
):
    with app.app_context(), pytest.raises(ClientRejected, match=reason):
        register_client(
            "Dev", redirects, "client_secret_basic", sector_identifier_uri=sector_server + path
        )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"redirect_uris": []}, "at least one redirect URI"),
        ({"redirect_uris": ["/relative"]}, "absolute"),
        ({"redirect_uris": ["https://bank.example/cb#frag"]}, "fragment"),
        ({"redirect_uris": ["http://bank.example/cb"]}, "https"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "absolute"),
        ({"auth_method": "none"}, "token_endpoint_auth_method"),
        ({"auth_method": "client_secret_post"}, "token_endpoint_auth_method"),
        ({"auth_method": "private_key_jwt"}, "needs jwks"),
        ({"auth_method": "private_key_jwt", "jwks": {"keys": "x"}}, "not a valid JWK Set"),
        ({"auth_method": "private_key_jwt", "jwks": {"keys": []}}, "JWK Set"),
        ({"auth_method": "private_key_jwt", "jwks_uri": "http://x.example/j"}, "https"),
        ({"subject_type": "random"}, "subject_type"),
        ({"redirect_uris": ["https://a.example/cb", "https://b.example/cb"]}, "sector_identifier"),
        ({"sector_identifier_uri": "http://s.example/x"}, "https"),
        ({"backchannel_logout_uri": "http://rp.example/logout"}, "https"),
        ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": "RS512"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": 5}, "id_token_signed_response_alg"),
    ],
)
def test_bad_metadata_is_refused_and_nothing_is_stored(app, kwargs, reason):
    args = {"name": "Bank", "redirect_uris": CB, "auth_method": "client_secret_basic", **kwargs}
    with app.app_context():
        with pytest.raises(ClientRejected, match=reason):
            register_client(
                args.pop("name"), args.pop("redirect_uris"), args.pop("auth_method"), **args
            )
        assert _count() == 0


def test_private_jwk_is_refused_as_a_leaked_secret(app):
    jwks = {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]}
    with app.app_context(), pytest.raises(ClientRejected, match="no private keys"):
        register_client("Bank", CB, "private_key_jwt", jwks=jwks)


def test_production_refuses_basic_clients_and_loopback_http(app, public_jwks):
    with app.app_context():
        with pytest.raises(ClientRejected, match="development clients only"):
            register_client("Dev", CB, "client_secret_basic", production=True)
        with pytest.raises(ClientRejected, match="https"):
            register_client(
                "Dev",
                ["http://127.0.0.1:8001/cb"],
                "private_key_jwt",
                jwks=public_jwks,
                production=True,
            )


def test_loopback_http_redirect_is_allowed_in_development(app):
    with app.app_context():
        client, _ = register_client("Dev", ["http://127.0.0.1:8001/cb"], "client_secret_basic")
        assert client.redirect_uris == ["http://127.0.0.1:8001/cb"]


def test_remove_deletes_and_reports_absence(app):
    with app.app_context():
        client, _ = register_client("Dev", CB, "client_secret_basic")
        assert remove_client(client.client_id) is True
        assert remove_client(client.client_id) is False
        assert find_client(client.client_id) is None
        assert find_client("") is None


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_id_token_alg_is_stored_only_when_given(app, alg):
    with app.app_context():
        chosen, _ = register_client(
            "Bank", CB, "client_secret_basic", id_token_signed_response_alg=alg
        )
        default, _ = register_client("Shop", CB, "client_secret_basic")
        assert find_client(chosen.client_id).client_metadata["id_token_signed_response_alg"] == alg
        assert "id_token_signed_response_alg" not in find_client(default.client_id).client_metadata
