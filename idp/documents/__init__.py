"""Contract signing: documents a service submits and the citizen signs at home.

``api`` is the service's back channel (submit, read the outcome), ``review`` the citizen's pages,
both on the blueprint in ``views``; ``cli`` the operator's ``idp documents purge``; ``signing`` the
request's life, ``cms`` and ``pades`` the signature containers, ``verification``
the signing certificate's check with a fresh revocation status. docs/documents.md explains it.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from ..metrics.observers import RevocationMetrics
from ..services import services
from .client_auth import CLIENT_AUTHENTICATION
from .verification import DOCUMENT_VERIFIER, DocumentVerifier, can_verify_documents


def init_app(app: Flask, config: Config) -> None:
    """Register the document API, pages and commands; build the verifier when the signing CA is
    trusted."""
    from . import api, review  # noqa: F401 (their routes register on the blueprint)
    from .cli import COMMANDS
    from .client_auth import build_authentication
    from .views import bp

    app.register_blueprint(bp)
    for command in COMMANDS:
        app.cli.add_command(command)
    services(app)[CLIENT_AUTHENTICATION] = build_authentication(app)
    if can_verify_documents(config.jpki):
        services(app)[DOCUMENT_VERIFIER] = DocumentVerifier(
            config.jpki, config.issuer, observer=RevocationMetrics()
        )
