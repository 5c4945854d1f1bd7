"""The OAuth 2.0 / OpenID Connect provider on Authlib."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from ..config import FAPI_ALGORITHMS, Config
from .backchannel import Courier
from .dpop import ALGORITHMS as DPOP_ALGORITHMS
from .dpop import DPoP
from .keys import KeyRing
from .sealing import Sealer
from .server import Services, build_server
from .subjects import SubjectMapper


def init_app(app: Flask, config: Config) -> None:
    """Attach the key ring and the authorization server; register the provider's blueprint and
    commands."""
    # Authlib logs issued tokens at DEBUG ("Issue token %r to %r"); tokens are never logged here.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").level))
    from .cli import COMMANDS
    from .views import bp

    ring = KeyRing(config, Sealer(config.secret_key))
    app.extensions["idp.keys"] = ring
    services = Services(
        config=config,
        store=lambda: app.extensions["idp.ephemeral"],
        ring=lambda: ring,
        subjects=SubjectMapper(config.secret_key),
        dpop=DPoP(
            config.secret_key,
            lambda: app.extensions["idp.ephemeral"],
            algorithms=FAPI_ALGORITHMS if config.environment == "production" else DPOP_ALGORITHMS,
        ),
    )
    app.extensions["idp.oidc.server"] = build_server(services)
    app.extensions["idp.courier"] = courier = Courier(app, services)
    if config.environment != "testing":
        # Serving (not CLI commands, not tests): deliver logouts left queued by a previous run.
        app.before_request(courier.start)
    app.register_blueprint(bp)
    for command in COMMANDS:
        app.cli.add_command(command)


def key_ring() -> KeyRing:
    """The current app's key ring."""
    return current_app.extensions["idp.keys"]


def sealer() -> Sealer:
    """A sealer for the current app's secret."""
    return Sealer(current_app.extensions["idp.config"].secret_key)
