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
from .verification import DocumentVerifier, can_verify_documents


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
    app.extensions["idp.documents.client_auth"] = build_authentication(app)
    if can_verify_documents(config.jpki):
        app.extensions["idp.documents.verifier"] = DocumentVerifier(
            config.jpki, config.issuer, observer=RevocationMetrics()
        )
