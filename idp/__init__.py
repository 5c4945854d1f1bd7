"""The identity provider: ``create_app(config)`` builds it like flaskr (docs/architecture.md §2).

Each package contributes ``init_app(app, config)``, and every package has the same shape: its
routes are on the blueprint ``bp`` in its ``views.py`` (a package with many routes spreads them
over modules that register on that ``bp``), its commands are the click groups ``COMMANDS`` in its
``cli.py``, and ``init_app`` registers both. A package with templates but no routes (``web``,
``errorpages``) registers a blueprint for its templates in ``init_app``. The configuration is
checked before anything is bound, so a refused setting stops the process with its reason.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from . import logs, web
from .config import Config, load_config
from .proxy import IssuerOrigin, trusted_networks


def _instance_secret(instance_path: str) -> str:
    """A secret generated once per instance folder, for development and testing only."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its signer built once per app instead of twice per
    request (a key derivation each time; bench/results/flow-profile.md)."""

    def __init__(self) -> None:
        self._signer = None

    def get_signing_serializer(self, app: Flask):
        if self._signer is None:  # one interface per app: the signer is this app's
            self._signer = super().get_signing_serializer(app)
        return self._signer


def create_app(config: Config | None = None, instance_path: str | None = None) -> Flask:
    """The IdP app for ``config`` (default: ``load_config()`` from IDP_CONFIG and IDP_*)."""
    config = (config or load_config()).check()
    app = Flask(__name__, instance_path=instance_path)
    from . import (
        account,
        cardstatus,
        consent,
        documents,
        errorpages,
        login,
        metrics,
        oidc,
        selfinfo,
        ssf,
        storage,
    )
    from .oidc.keys import KEY_RING
    from .services import install

    if not config.secret_key:
        config = dataclasses.replace(config, secret_key=_instance_secret(app.instance_path))
    held = install(app, config)  # first: every package registers what it builds in it
    web.init_app(app, config)  # its template environment, before app.jinja_env is first built
    app.config["SECRET_KEY"] = config.secret_key
    app.config["SESSION_COOKIE_SECURE"] = config.issuer.startswith("https:")
    if app.config["SESSION_COOKIE_SECURE"]:  # Secure, host-only, path /: no sibling may set it
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _CookieSessions()
    storage.init_app(app, config)
    oidc.init_app(app, config)
    ssf.init_app(app, config)
    login.init_app(app, config)
    consent.init_app(app, config)
    selfinfo.init_app(app, config)
    account.init_app(app, config)
    documents.init_app(app, config)
    cardstatus.init_app(app, config)
    errorpages.init_app(app, config)
    metrics.init_app(app, config, jwks=held[KEY_RING].jwks)
    app.wsgi_app = IssuerOrigin(app.wsgi_app, config.issuer, trusted_networks(config.proxy.trusted))
    logs.init_app(app)
    return app
