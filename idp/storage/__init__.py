"""The IdP's state: durable (SQLAlchemy) and ephemeral (Redis or in-process, always with a TTL)."""

from __future__ import annotations

from flask import Flask, current_app

from ..config import Config
from . import accounts, consents, documents, models, selfinfo, signing_certificates, verifications  # noqa: F401 (every table in the metadata)
from . import db as _db
from .ephemeral import EphemeralStore, MemoryStore, RedisStore
from .ratelimits import RateLimits


def make_ephemeral_store(config: Config) -> EphemeralStore:
    """Redis when configured, else this process's memory (``Config.check`` refused the rest)."""
    if config.ephemeral.redis_url:
        return RedisStore.from_url(
            config.ephemeral.redis_url, config.ephemeral.key_prefix, config.timeouts
        )
    return MemoryStore()


def init_app(app: Flask, config: Config) -> None:
    """Bind the database and the ephemeral store chosen by configuration; add ``idp db``."""
    from .cli import COMMANDS

    _db.init_app(app, config.database.url or _db.default_url(app), config.timeouts)
    app.extensions["idp.ephemeral"] = make_ephemeral_store(config)
    # The store is looked up at each count, so a test may swap it (and its clock) afterwards.
    app.extensions["idp.ratelimits"] = RateLimits(
        config.limits, lambda: app.extensions["idp.ephemeral"]
    )
    for command in COMMANDS:
        app.cli.add_command(command)


def ephemeral() -> EphemeralStore:
    """The current app's ephemeral store."""
    return current_app.extensions["idp.ephemeral"]
