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
from .longterm import LONG_TERM, LongTerm
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
    services(app)[LONG_TERM] = long_term(config)
    if can_verify_documents(config.jpki):
        services(app)[DOCUMENT_VERIFIER] = DocumentVerifier(
            config.jpki, config.issuer, observer=RevocationMetrics()
        )


def long_term(config: Config) -> LongTerm | None:
    """PAdES B-T and above need the configured TSA; the verifier's roots are the signing CA's
    (the JPKI trust anchors) and the TSA's."""
    from ..jpki.anchors import load_folder
    from ..jpki.settings import CertificateType
    from .longterm import asn1_certificate
    from .timestamps import load_roots

    settings = config.documents
    if not settings.tsa_url:
        return None
    folder = config.jpki.trust_anchors.get(CertificateType.SIGN)
    signing = load_folder(folder, allow_test_roots=config.jpki.allow_test_roots) if folder else ()
    return LongTerm(
        settings.tsa_url, load_roots(settings.tsa_trust), [asn1_certificate(c) for c in signing]
    )
