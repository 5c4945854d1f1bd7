"""The OAuth 2.0 / OpenID Connect provider on Authlib."""

from __future__ import annotations

import logging

from flask import Flask

from ..config import FAPI_ALGORITHMS, Config
from ..services import services
from ..storage.ephemeral import EPHEMERAL
from ..web.services import CLIENT_METADATA
from .backchannel import COURIER, Courier
from .clients import client_metadata
from .dpop import ALGORITHMS as DPOP_ALGORITHMS
from .dpop import DPoP
from .keys import KEY_RING, KeyRing
from .sealing import Sealer
from .server import SERVER, Services, build_server
from .subjects import SubjectMapper


def init_app(app: Flask, config: Config) -> None:
    """Attach the key ring and the authorization server; register the provider's blueprint and
    commands."""
    # Authlib logs issued tokens at DEBUG ("Issue token %r to %r"); tokens are never logged here.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").level))
    from .cli import COMMANDS
    from .views import bp

    ring = KeyRing(config, Sealer(config.secret_key))
    services(app)[KEY_RING] = ring
    shared = Services(
        config=config,
        store=lambda: services(app)[EPHEMERAL],
        ring=lambda: ring,
        subjects=SubjectMapper(config.secret_key),
        dpop=DPoP(
            config.secret_key,
            lambda: services(app)[EPHEMERAL],
            algorithms=FAPI_ALGORITHMS if config.environment == "production" else DPOP_ALGORITHMS,
        ),
    )
    services(app)[SERVER] = build_server(shared)
    services(app)[COURIER] = courier = Courier(app, shared)
    services(app)[CLIENT_METADATA] = client_metadata
    if config.environment != "testing":
        # Serving (not CLI commands, not tests): deliver logouts left queued by a previous run.
        app.before_request(courier.start)
    app.register_blueprint(bp)
    for command in COMMANDS:
        app.cli.add_command(command)


def sealer() -> Sealer:
    """A sealer for the current app's secret."""
    return Sealer(services().config.secret_key)
