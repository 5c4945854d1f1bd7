"""The IdP the client libraries of tests/oidc/interop log in to: a testing IdP served over HTTP
on a free port, with the card-less login of ``tests.cardless`` standing in for the card step
(the one step a library takes no part in), and one client as the integration guide registers
it: private_key_jwt with an ES256 key, PAR required."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from joserfc.jwk import ECKey

from idp.config import DPoPConfig
from idp.oidc.clients import register_client
from tests.conftest import drop_schema, idp_test_config, make_app
from tests.oidc.live import free_port, serving

REDIRECT = "https://rp.example/cb"


@dataclass(frozen=True)
class LiveIdP:
    issuer: str
    client_id: str
    client_key: ECKey
    redirect_uri: str = REDIRECT


def serve(tmp_path, dpop: DPoPConfig | None = None):
    """Build, register and serve; a generator for fixtures."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    changes = {"issuer": issuer} | ({"dpop": dpop} if dpop else {})
    config = idp_test_config(f"sqlite:///{tmp_path}/live.sqlite3", **changes)
    app = make_app(config, tmp_path / "instance", cardless_login=True)
    key = ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, auto_kid=True)
    with app.app_context():
        client, _ = register_client(
            "Interop",
            [REDIRECT],
            "private_key_jwt",
            require_par=True,
            jwks={"keys": [key.as_dict(private=False)]},
        )
        client_id = client.client_id
    with serving(app, port):
        yield LiveIdP(issuer, client_id, key)
    drop_schema(app)


@pytest.fixture
def live_idp(tmp_path):
    """The IdP with its default DPoP nonce policy (a nonce at /token)."""
    yield from serve(tmp_path)
