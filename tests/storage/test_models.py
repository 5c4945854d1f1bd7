"""Durable models on SQLite and PostgreSQL, with the schema built by the migrations only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from idp.storage.db import db, run
from idp.storage.models import Client, SigningKey, secret_digest

SECRET = "s3cret"  # noqa: S105 (a test value)


def _client(client_id="c1", secret=None):
    client = Client(
        client_id=client_id,
        name="Bank",
        sector_identifier="bank.example",
        client_secret=secret_digest(secret) if secret else None,
    )
    client.set_client_metadata(
        {
            "redirect_uris": ["https://bank.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
    )
    return client


def test_migrations_create_every_model_table(app):
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert {"oauth_client", "signing_key", "alembic_version"} <= tables


def test_client_round_trips_with_its_metadata(app):
    with app.app_context():
        db.session.add(_client())
        db.session.commit()
        db.session.expire_all()
        stored = db.session.execute(db.select(Client)).scalar_one()
        assert stored.redirect_uris == ["https://bank.example/cb"]
        assert stored.subject_type == "pairwise"
        assert stored.require_par is False


def test_client_id_is_unique(app):
    with app.app_context():
        db.session.add_all([_client("same"), _client("same")])
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_client_secret_is_stored_as_digest_and_checked(app):
    with app.app_context():
        db.session.add(_client(secret=SECRET))
        db.session.commit()
        stored = db.session.execute(db.select(Client)).scalar_one()
        assert stored.client_secret != SECRET
        assert stored.check_client_secret(SECRET) is True
        assert stored.check_client_secret(SECRET + " ") is False


def test_client_without_secret_never_matches(app):
    with app.app_context():
        assert _client().check_client_secret("") is False


@pytest.mark.parametrize(
    "uri",
    [
        "https://bank.example/cb/",
        "https://bank.example/cb?x=1",
        "https://BANK.example/cb",
        "https://bank.example/c",
        "https://bank.example/cb#f",
        None,
        ["https://bank.example/cb"],
    ],
)
def test_redirect_uri_matches_exactly_or_not_at_all(app, uri):
    with app.app_context():
        assert _client().check_redirect_uri(uri) is False
        assert _client().check_redirect_uri("https://bank.example/cb") is True


def test_signing_key_stores_sealed_bytes(app):
    with app.app_context():
        db.session.add(
            SigningKey(
                kid="k",
                alg="RS256",
                state="next",
                public_jwk="{}",
                sealed_private_key=b"\x01" * 40,
                created_at=1,
            )
        )
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(SigningKey, "k").sealed_private_key == b"\x01" * 40


def test_the_migrations_match_every_model(app):
    """Every table and index of every model is made by a migration, on both databases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_sqlite_runs_in_write_ahead_log_mode_and_syncs_every_commit(tmp_path):
    """The development store: WAL for cheaper commits, FULL so a commit is still on disk."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    sqlite_app = make_app(idp_test_config(f"sqlite:///{tmp_path}/wal.sqlite3"), tmp_path / "i")
    try:
        with sqlite_app.app_context():
            connection = db.session.connection()
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        drop_schema(sqlite_app)


def test_a_core_statement_run_on_the_hot_path_sees_pending_objects_in_the_transaction(app):
    """``run`` flushes what the ORM holds, as ``db.session.execute`` would, inside the session's
    transaction: the rollback takes the flushed row back."""
    clients = sa.select(Client.client_id)
    with app.app_context():
        db.session.add(_client("pending"))
        assert run(clients, {}).scalars().all() == ["pending"]
        db.session.rollback()
        assert run(clients, {}).scalars().all() == []
