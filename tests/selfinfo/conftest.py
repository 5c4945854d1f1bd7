"""Self-information suites: the testing IdP (test authenticator and consent screen) on SQLite
and PostgreSQL, an account with data, a client and a consent covering every category."""

from __future__ import annotations

import pytest

from idp.oidc.claims import SELFINFO_SCOPES
from tests.selfinfo.samples import SAMPLES, make_account, make_client, make_consent, store


@pytest.fixture
def app(database_url, tmp_path):
    """The testing IdP with the test authenticator, on the parametrised database."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(database_url)
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def account(app):
    """An account holding a document in every category."""
    account_id = make_account(app)
    for category in SAMPLES:
        store(app, account_id, category)
    return account_id


@pytest.fixture
def client_id(app):
    return make_client(app)


@pytest.fixture
def consent(app, account, client_id):
    """A live consent of ``account`` for ``client_id`` covering every category."""
    return make_consent(app, account, client_id, ["openid", *SELFINFO_SCOPES])
