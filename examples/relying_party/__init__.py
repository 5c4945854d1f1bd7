"""A sample bank that takes mortgage applications online, signed in with jpki-idp.

It is written the way a bank's own service would be: an ordinary OpenID Connect client (Authlib's
client, joserfc, requests) that pushes its authorization request (PAR) with PKCE, authenticates
with ``private_key_jwt``, binds its tokens with DPoP, validates the ID token itself, asks for
verified claims under ``jp_aml``, reads income and household from the self-information API, has
the contract signed with the citizen's signing certificate and checks that signature itself.
See docs/integration-guide.md; run it with ``python -m examples.relying_party``.
"""

from __future__ import annotations

from flask import Flask

from . import application, i18n, signals, signin, signing, web, words  # noqa: F401 - on web.bp
from .dpop import DPoPSigner
from .idp_client import IdpClient
from .keys import client_key, dpop_key
from .sessions import SessionStore
from .settings import BankSettings
from .subscription import Receiver


def create_app(settings: BankSettings | None = None) -> Flask:
    settings = settings or BankSettings.from_environment()
    settings.instance.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(settings.instance))
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_NAME="bank_session",  # the IdP on the same host has its own "session"
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
    )
    app.extensions["bank.settings"] = settings
    app.extensions["bank.sessions"] = SessionStore()
    app.extensions["bank.idp"] = IdpClient(
        settings.issuer,
        settings.registered_client_id(),
        client_key(settings.instance),
        DPoPSigner(dpop_key(settings.instance)),
    )
    app.extensions["bank.signals"] = signals.SignalBook()  # Shared Signals: signals.py
    app.extensions["bank.receiver"] = Receiver(settings, app.extensions["bank.idp"])
    i18n.init_app(app, settings.instance / "translations")
    app.register_blueprint(web.bp)  # with the routes of signin, application and signing
    return app
