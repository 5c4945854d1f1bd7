"""The durable store: one Flask-SQLAlchemy handle and its Alembic migrations (Flask-Migrate).

SQLite in the instance folder is the zero-configuration default; production uses PostgreSQL.
The schema only changes through migrations in ``idp/storage/migrations``, which ``idp db upgrade``
applies (``idp run`` applies them itself on the default SQLite file).
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from flask_migrate import upgrade as _upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Executable, ForeignKey, Integer, Result, String, event
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

from ..config import TimeoutsConfig

MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)


def now_seconds() -> int:
    """The time as the models keep it: whole seconds since the epoch."""
    return int(time.time())


def stamped() -> MappedColumn[int]:
    """A time column set when its row is written (``now_seconds``)."""
    return mapped_column(Integer, nullable=False, default=now_seconds)


def owned_by_account(*, index: bool = False) -> MappedColumn[str]:
    """The account a row belongs to (``account.id``); the row goes when the account goes."""
    return mapped_column(
        String(43), ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=index
    )


def default_url(app: Flask) -> str:
    """The SQLite file in the instance folder, created on demand."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(app.instance_path) / "idp.sqlite3")


def init_app(app: Flask, url: str, timeouts: TimeoutsConfig | None = None) -> None:
    """Bind the database at ``url`` and register ``idp db …``."""
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url, timeouts or TimeoutsConfig())
    db.init_app(app)
    migrate.init_app(app, db)
    if url.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _write_ahead_log)


def engine_options(url: str, timeouts: TimeoutsConfig) -> dict:
    """Pre-ping (a connection PostgreSQL dropped is replaced, not used: recovery without a
    restart) and explicit limits, so an unreachable or stalled database fails a request in
    seconds rather than hanging a worker until gunicorn kills it."""
    options: dict = {"pool_pre_ping": True, "pool_timeout": timeouts.database_pool}
    if url.startswith("postgresql"):
        statement_ms = timeouts.database_statement * 1000
        options["connect_args"] = {
            "connect_timeout": timeouts.database_connect,
            "options": f"-c statement_timeout={statement_ms}",
        }
    return options


def _write_ahead_log(connection, _record) -> None:
    """SQLite in write-ahead-log mode: a commit appends to one file, still synced to disk
    (``synchronous=FULL``), instead of writing and deleting a rollback journal, and readers no
    longer wait for writers. ~0.5 ms less per login (bench/results/flow-profile.md)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def run(statement: Executable, params: dict) -> Result:
    """A prebuilt Core statement on the session's connection, in its transaction: what
    ``db.session.execute`` does for it (pending ORM objects flushed first), without the ORM's
    execution layer, ~35 µs less a statement. The login's hot path makes five."""
    db.session.flush()
    return db.session.connection().execute(statement, params)


def schema_is_current() -> bool:
    """True when the database is at the newest migration (inside an app context)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = migrate.get_config(str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def upgrade() -> None:
    """Bring the schema to the newest migration (inside an app context)."""
    _upgrade(directory=str(MIGRATIONS))
