"""Authenticators: implementations of ``idp.oidc.authenticator.Authenticator``, and their pages.

The default is ``card.CardAuthenticator``, the My Number Card login through the bridge (issue 7
§1). Without trust anchors for the authentication CA no card can be checked, so
``card.UnavailableAuthenticator`` refuses every login with a page saying so.
``testing.TestAuthenticator`` logs in without a card; ``idp.config`` allows it in the testing
environment only.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from .card import CardAuthenticator, UnavailableAuthenticator
from .settings import CardLoginSettings
from .verification import CardVerifier, can_verify_logins


def init_app(app: Flask, config: Config) -> None:
    """Register the pages and languages; choose the authenticator by configuration."""
    from . import i18n
    from .views import bp

    i18n.init_app(app)
    app.extensions["idp.login.settings"] = CardLoginSettings.from_config(config)
    app.register_blueprint(bp)
    if config.login.test_authenticator:
        from .testing import TestAuthenticator, TestConsentScreen

        app.extensions["idp.authenticator"] = TestAuthenticator()
        app.extensions["idp.consent"] = TestConsentScreen()
    elif can_verify_logins(config.jpki):
        store = app.extensions["idp.ephemeral"]
        app.extensions["idp.login.verifier"] = CardVerifier(config.jpki, config.issuer, store)
        app.extensions["idp.authenticator"] = CardAuthenticator(config.tokens.login_transaction)
    else:
        app.extensions["idp.authenticator"] = UnavailableAuthenticator()
