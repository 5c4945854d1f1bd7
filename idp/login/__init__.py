"""Authenticators: implementations of ``idp.oidc.authenticator.Authenticator``, and their pages.

The default is ``card.CardAuthenticator``, the My Number Card login through the bridge. Without
trust anchors for the authentication CA no card can be checked, so ``card.UnavailableAuthenticator``
refuses every login with a page saying so. Nothing here logs anyone in without a card, whatever the
configuration: the test suites plug their own authenticator into the app object
(``tests/cardless.py``).

Layers: ``idp.login`` sits below ``idp.consent`` and above ``idp.oidc``. It never imports consent:
the login ends with ``idp.oidc.authorize.finish_login``, and the protocol layer hands the proven
login on to the consent step. Its card check (``verification.CardVerifier``) is also the
consent's card step's.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from ..jpki.anchors import TrustAnchors
from ..jpki.crl_updater import CrlRefresher, CrlUpdater
from ..jpki.transport import HttpTransport
from ..metrics.observers import RevocationMetrics
from ..oidc.authenticator import AUTHENTICATOR
from ..services import services
from ..storage.ephemeral import EPHEMERAL
from .card import CardAuthenticator, UnavailableAuthenticator
from .verification import CARD_VERIFIER, CRL_REFRESHER, CardVerifier, can_verify_logins


def init_app(app: Flask, config: Config) -> None:
    """Register the pages; choose the authenticator by configuration."""
    from .views import bp

    app.register_blueprint(bp)
    if can_verify_logins(config.jpki):
        store, observer = services(app)[EPHEMERAL], RevocationMetrics()
        services(app)[CARD_VERIFIER] = CardVerifier(
            config.jpki, config.issuer, store, observer=observer
        )
        services(app)[AUTHENTICATOR] = CardAuthenticator()
        _refresh_crls(app, config, observer)
    else:
        services(app)[AUTHENTICATOR] = UnavailableAuthenticator()


def _refresh_crls(app: Flask, config: Config, observer: RevocationMetrics) -> None:
    """Keep the CRL indexes of ``[jpki] crl_urls`` current from this process (serving only:
    commands and tests drive ``CrlUpdater`` themselves). Every process of a machine runs one;
    a file lock per type and the shared index let one download while the others read."""
    settings = config.jpki
    if not settings.crl_urls or config.environment == "testing":
        return
    roots = TrustAnchors.from_settings(settings).roots
    updater = CrlUpdater(settings, roots, HttpTransport(), observer=observer)
    refresher = services(app)[CRL_REFRESHER] = CrlRefresher(updater)
    app.before_request(refresher.start)
    verifier = services(app)[CARD_VERIFIER]
    if verifier is not None:  # the OCSP fallback's fetches go through it too, diffs and all
        verifier.validator.revocation.fallback.refresh = updater.refresh
