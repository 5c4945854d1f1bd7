"""Authenticators: implementations of ``idp.oidc.authenticator.Authenticator``.

The card authenticator belongs to the citizen-flow issue; until it exists the only implementation
is ``testing.TestAuthenticator``, which ``idp.config`` allows in the testing environment only.
"""

from __future__ import annotations

from flask import Flask
from flask.typing import ResponseReturnValue

from ..config import Config
from ..oidc.authenticator import LoginTransaction


class NoAuthenticator:
    """The login step until the card flow exists: every login is refused with a clear page."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:  # noqa: ARG002
        return "Login with the My Number Card is not available on this server yet.", 503


def init_app(app: Flask, config: Config) -> None:
    """Choose the authenticator by configuration."""
    if config.login.test_authenticator:
        from .testing import TestAuthenticator

        app.extensions["idp.authenticator"] = TestAuthenticator()
    else:
        app.extensions["idp.authenticator"] = NoAuthenticator()
