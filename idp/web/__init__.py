"""What every citizen page shares, whichever package serves it: rendering in the chosen language
(``pages``, ``i18n``, ``templating``), the base template and its static files, CSRF and the
strict response headers (``security``), where the card bridge is (``bridge``), the refusal
base (``refusals``) and the transactions bound to one browser (``transactions``: a login or a
consent in progress). Feature packages and the protocol layer import it; it imports none of them.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from ..services import services as app_services  # .services here: the clients' own words
from . import formats, i18n, operator, pages, security, services
from .bridge import BRIDGE, BridgeSettings
from .templating import TranslatedEnvironment


def init_app(app: Flask, config: Config) -> None:
    """Install the template environment and the languages, serve the shared templates and
    static files, and put the citizen pages' headers on every response. Runs before anything
    builds ``app.jinja_env``."""
    if "jinja_env" in app.__dict__:  # cached by Flask: the class would be ignored
        raise RuntimeError("web.init_app must run before anything builds app.jinja_env")
    app.jinja_environment = TranslatedEnvironment
    i18n.init_app(app)
    app.jinja_env.globals.update(
        formats.helpers(),
        localized=services.localized,
        way_back=services.way_back,
        in_language=services.in_language,
    )
    operator.init_app(app)
    bridge = app_services(app)[BRIDGE] = BridgeSettings.from_config(config)
    app.register_blueprint(pages.blueprint("web", __name__))
    https = config.issuer.startswith("https:")
    origin = bridge.bridge_origin
    app.after_request(lambda response: security.secure_defaults(response, origin, https))
