"""The WSGI entry point for production servers: ``gunicorn -c idp/gunicorn_conf.py idp.wsgi:app``.

``app`` is built on first access (gunicorn's ``getattr``, after the fork), not at import, so
importing this module has no side effect; ``idp.wsgi:build()`` is the same as a factory string.

Each worker builds the app from ``IDP_CONFIG`` and ``IDP_*`` (``idp.config.load_config``); a
refused configuration, a database whose schema is not at the newest migration, or a secret key
that cannot unseal the stored signing keys stops the worker with the reason instead of serving;
in production, so does a stored client that is not a FAPI 2.0 client
(``fapi.non_fapi_refusal``). Migrations are never applied here: several workers on several
hosts start at once, so ``idp db upgrade`` is a deployment step (docs/operators.md).
Signing keys are created if missing (``keys.ensure_keys`` lets one concurrent starter win).
"""

from __future__ import annotations

import time

from flask import Flask

from . import create_app, logs
from .config import ConfigError
from .services import services


class StartRefused(SystemExit):
    """The worker must not serve; the message says why (gunicorn logs it and stops)."""


def build() -> Flask:
    """The checked, ready-to-serve app, logging JSON lines (gunicorn's ``GunicornLogger`` has
    configured them already; any other server gets ``logs.configure``)."""
    logs.configure()
    try:
        app = create_app()
    except ConfigError as e:
        raise StartRefused(f"jpki-idp: configuration refused: {e}") from None
    from .oidc import fapi, keys, sealer
    from .storage import db

    config = services(app).config
    with app.app_context():
        if not db.schema_is_current():
            raise StartRefused("jpki-idp: the database schema is not current: run `idp db upgrade`")
        try:
            keys.check_secret(sealer())
        except keys.SecretMismatch as e:
            raise StartRefused(f"jpki-idp: {e}") from None
        if config.environment == "production" and (why := fapi.non_fapi_refusal(config.keys)):
            raise StartRefused(f"jpki-idp: {why}")
        keys.ensure_keys(services(app).config, sealer(), int(time.time()))
        db.db.session.remove()
    return app


_built: list[Flask] = []


def __getattr__(name: str) -> Flask:
    """``idp.wsgi.app``: the app of this process, built once (PEP 562)."""
    if name != "app":
        raise AttributeError(name)
    if not _built:
        _built.append(build())
    return _built[0]
