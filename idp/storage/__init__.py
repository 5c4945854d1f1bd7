"""The IdP's state: durable (SQLAlchemy) and ephemeral (Redis or in-process, always with a TTL)."""

from __future__ import annotations

from flask import Flask

from ..config import Config
from ..services import services
from . import (  # noqa: F401 (every table in the metadata)
    accounts,
    card_status,
    consents,
    documents,
    models,
    selfinfo,
    signing_certificates,
    verifications,
)
from . import db as _db
from .ephemeral import EPHEMERAL, EphemeralStore, MemoryStore, RedisStore
from .ratelimits import RATE_LIMITS, RateLimits
from .streams import SignalStream  # noqa: F401 (the Shared Signals tables in the metadata)


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
    services(app)[EPHEMERAL] = make_ephemeral_store(config)
    # The store is looked up at each count, so a test may swap it (and its clock) afterwards.
    services(app)[RATE_LIMITS] = RateLimits(config.limits, lambda: services(app)[EPHEMERAL])
    for command in COMMANDS:
        app.cli.add_command(command)
