"""The citizen's account pages: access history, consents, sign out everywhere."""

from __future__ import annotations

from flask import Flask

from ..config import Config


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001 (every package's signature)
    """Register the account pages (their texts are in ``idp/account/translations``)."""
    from .views import bp

    app.register_blueprint(bp)
