"""Fixtures shared by several suites: the real databases and the real Redis.

PostgreSQL: one throwaway database per test session, created and dropped through the
``jpki_idp_test`` role (script/test creates it; see IDP_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import os
import secrets
import time

import psycopg
import pytest
import redis

from idp.oidc.backchannel import COURIER
from idp.services import services
from idp.ssf.streams import COURIER as SSF_COURIER

POSTGRES_URL = os.environ.get(
    "IDP_TEST_POSTGRES_URL", "postgresql://jpki_idp_test:jpki_idp_test@127.0.0.1:5432/jpki_idp_test"
)
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytest_plugins = ["tests.web.render_check"]
"""Every page a test renders is rendered again by stock Jinja and must come out the same."""


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a fresh PostgreSQL database, dropped after the session."""
    name = "idp_test_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    drop_database(name)


def drop_database(name: str, tries: int = 20) -> None:
    """DROP … WITH (FORCE) ends the test role's own connections, but not an autovacuum worker
    that PostgreSQL happens to run on the database (the superuser's): wait for it to finish."""
    for attempt in range(tries):
        try:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idp.sqlite3"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def redis_url():
    """The Redis test database URL, emptied of this test's keys by the caller's prefix."""
    redis.Redis.from_url(REDIS_URL).ping()
    return REDIS_URL


def idp_test_config(database_url: str, **changes):
    """A testing Config on ``database_url``: keys reload at once and rotate without waiting;
    client URLs may be on loopback, where the tests' relying parties listen."""
    from idp.config import ClientUrlsConfig, Config, DatabaseConfig, KeysConfig

    base = Config(
        environment="testing",
        secret_key="test-secret-" + "x" * 32,
        database=DatabaseConfig(url=database_url),
        keys=KeysConfig(reload_seconds=0, min_publish_seconds=0),
        client_urls=ClientUrlsConfig(allow_loopback=True),
    )
    return base.__class__(**{**base.__dict__, **changes})


def operator_config():
    """The ``[operator]`` block production requires: what every page's footer shows."""
    from idp.config import OperatorConfig

    return OperatorConfig(
        name_ja="テスト運営機構",
        name_en="Test Operator",
        privacy_policy_url="https://operator.example.jp/privacy",
        contact_url="https://operator.example.jp/contact",
        loss_report_phone="0120-111-222",
    )


def make_app(config, instance_path, *, cardless_login: bool = False):
    """The app on ``config`` with its schema at the newest migration.

    ``cardless_login=True``: logins need no card and every consent is approved at once
    (``tests.cardless.install_cardless_login``; the product itself cannot do this).
    """
    from idp import create_app
    from idp.storage.db import upgrade

    app = create_app(config, instance_path=str(instance_path))
    with app.app_context():
        upgrade()
    if cardless_login:
        from tests.cardless import install_cardless_login

        install_cardless_login(app)
    return app


def drop_schema(app) -> None:
    """Undo every migration, so the next test on the shared PostgreSQL starts empty."""
    from flask_migrate import downgrade

    from idp.storage.db import MIGRATIONS, db

    if courier := services(app)[COURIER]:
        courier.stop()
    if courier := services(app)[SSF_COURIER]:
        courier.stop()
    with app.app_context():
        db.session.remove()
        downgrade(directory=str(MIGRATIONS), revision="base")
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    """A testing IdP on the parametrised database."""
    application = make_app(idp_test_config(database_url), tmp_path / "instance")
    yield application
    drop_schema(application)


@pytest.fixture
def cardless_app(database_url, tmp_path):
    """A testing IdP on the parametrised database that logs anyone in without a card (as
    ``login_hint``, else ``tests.cardless.DEFAULT_ACCOUNT``) and approves every consent."""
    config = idp_test_config(database_url)
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


REGISTRATION_TOKEN = "admin-" + "t" * 40
"""The operator's initial access token of the ``registrar`` IdP (RFC 7591)."""


@pytest.fixture
def registrar(tmp_path):
    """A testing IdP (SQLite) whose registration endpoint takes ``REGISTRATION_TOKEN``."""
    application = make_registrar(tmp_path)
    yield application
    drop_schema(application)


def make_registrar(tmp_path, **changes):
    """The ``registrar`` IdP, with ``changes`` to its testing Config (e.g. other ``limits``)."""
    from idp.config import AdminConfig

    config = idp_test_config(
        f"sqlite:///{tmp_path}/r.sqlite3",
        admin=AdminConfig(registration_token=REGISTRATION_TOKEN),
        **changes,
    )
    return make_app(config, tmp_path / "instance", cardless_login=True)
