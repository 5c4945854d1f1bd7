"""The consent screen (issue 7 §2): the citizen's pages implementing ``idp.consent.decisions``.

After a login, ``idp.oidc.authorize`` hands each request that needs the citizen's approval to
``ConsentScreen.begin``, which sends the browser to the request's page (``views.screen``). The
page ends with ``finish_consent`` (approve; with a fresh card signature for self-information and
verified identity, ``cardstep``) or ``deny_consent``. ``items.describe`` gives every item its
plain words, for this screen and the account pages' access history.
"""

from __future__ import annotations

from flask import Flask, redirect, url_for
from flask.typing import ResponseReturnValue

from ..config import Config
from .decisions import ConsentRequest


class ConsentScreen:
    """The real consent pages: one page per request, at ``/consent/<id>``."""

    def begin(self, request: ConsentRequest) -> ResponseReturnValue:
        return redirect(url_for("consent.screen", transaction=request.id), 303)


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001 (every package's signature)
    """Register the consent pages and make them the consent screen."""
    from .views import bp

    app.register_blueprint(bp)
    app.extensions["idp.consent"] = ConsentScreen()
