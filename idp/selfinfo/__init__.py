"""The self-information API: a resource server inside the IdP.

``views`` serves ``GET /selfinfo/v1/<category>`` to services holding a token with the category's
scope under a live consent; ``cli`` is the operator's ``idp selfinfo import``. See
docs/selfinfo.md.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from .categories import check_schemas


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001 (the package contract)
    """Check the schemas (a broken one stops start-up); register the endpoints and commands."""
    from .cli import COMMANDS
    from .views import bp

    check_schemas()
    app.register_blueprint(bp)
    for command in COMMANDS:
        app.cli.add_command(command)
