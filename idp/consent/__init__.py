"""Consent and data release: what a request asks the citizen for, their decision, what each
grant releases, remembered consents and their withdrawal, and the consent pages.

A login, one pass down the layers: ``idp.oidc.authorize`` validates the request and hands it to
the authenticator (``idp.login``), whose pages prove the person and end with
``idp.oidc.authorize.finish_login``; that hands the proven login to the consent step registered
here (``consenting.ask``, through ``idp.oidc.approval``). It issues the code at once under a
remembered consent (``requested``, ``issuing``) or sends the browser to ``ConsentScreen.begin``:
the request's page (``views.screen``), which ends with ``finish_consent`` (approve; with a fresh
card signature for self-information and verified identity, ``cardstep``) or ``deny_consent``.
``issuing`` releases only what was granted (``verified_release`` for verified claims);
``withdrawal`` takes a consent back. ``items.describe`` gives every item its plain words, for this
screen and the account pages' access history.

Layers: ``idp.consent`` sits above ``idp.login``, both above ``idp.oidc``. The consent's card step
uses the login's card check (``idp.login.verification.CardVerifier``) and accounts; the login never
imports consent, and ``idp.oidc`` imports neither: each is handed to it when the app is built (the
authenticator by ``idp.login``, the consent step here).
"""

from __future__ import annotations

from flask import Flask, redirect, url_for
from flask.typing import ResponseReturnValue

from ..config import Config
from ..oidc.approval import CONSENT_STEP
from ..services import services
from . import consenting
from .decisions import CONSENT_SCREEN, ConsentRequest


class ConsentScreen:
    """The real consent pages: one page per request, at ``/consent/<id>``."""

    def begin(self, request: ConsentRequest) -> ResponseReturnValue:
        return redirect(url_for("consent.screen", transaction=request.id), 303)


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001 (every package's signature)
    """Register the consent pages and make them the consent screen."""
    from .views import bp

    app.register_blueprint(bp)
    services(app)[CONSENT_STEP] = consenting.ask
    services(app)[CONSENT_SCREEN] = ConsentScreen()
