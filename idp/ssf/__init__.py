"""The IdP as an OpenID Shared Signals Framework 1.0 transmitter (docs/shared-signals.md).

A change of a card's status at the CA reaches every relying party holding a grant for the
account as Security Event Tokens (RFC 8417): CAEP and RISC events, and one event of our own,
delivered by push (RFC 8935) or poll (RFC 8936) from a durable outbox.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from ..oidc.server import SERVER
from ..services import services
from .grant import StreamManagementGrant
from .push import Courier
from .streams import COURIER


def init_app(app: Flask, config: Config) -> None:
    """Add the stream-management grant to the token endpoint; register the transmitter's
    endpoints and its push courier."""
    from .views import bp

    server = services(app)[SERVER]
    server.register_grant(StreamManagementGrant)
    services(app)[COURIER] = courier = Courier(app, server.services)
    if config.environment != "testing":
        # Serving (not CLI commands, not tests): push what a previous run left in the outbox.
        app.before_request(courier.start)
    app.register_blueprint(bp)
