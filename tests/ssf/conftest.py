"""A testing IdP with the card-less login, a bank registered with private_key_jwt, and the
bank's own Shared Signals receiver (``receiver``, which shares no code with ``idp.ssf``)."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from idp.services import services
from tests.ssf.receiver import PushEndpoint, Receiver

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path}/idp.sqlite3"


@pytest.fixture
def transmitter(database_url, tmp_path):
    from idp.ssf.streams import COURIER
    from tests.conftest import drop_schema, idp_test_config, make_app

    application = make_app(
        idp_test_config(database_url), tmp_path / "instance", cardless_login=True
    )
    yield application
    services(application)[COURIER].stop()
    drop_schema(application)


def register(app, name: str = "Bank", auth_method: str = "private_key_jwt", **policy):
    """(client id, private key) of a new client of ``app``."""
    from idp.oidc.clients import register_client

    key = ECKey.generate_key("P-256", {"use": "sig", "alg": "ES256"}, auto_kid=True)
    jwks = {"keys": [key.as_dict(private=False)]} if auth_method == "private_key_jwt" else None
    with app.app_context():
        client, _secret = register_client(
            name, [f"https://{name.lower()}.example/cb"], auth_method, jwks=jwks, **policy
        )
        return client.client_id, key


@pytest.fixture
def bank(transmitter):
    client_id, key = register(transmitter)
    return Receiver(transmitter.test_client(), ISSUER, client_id, key)


@pytest.fixture
def other_bank(transmitter):
    client_id, key = register(transmitter, "Other")
    return Receiver(transmitter.test_client(), ISSUER, client_id, key)


@pytest.fixture
def push_endpoint():
    endpoint = PushEndpoint()
    yield endpoint
    endpoint.close()
