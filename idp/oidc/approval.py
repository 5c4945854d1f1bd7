"""After a proven login: the consent step as the protocol sees it, and the approval it ends with.

The authorization endpoint (``idp.oidc.authorize``) validates the request and has the person
proven (the ``Authenticator``); with a ``LoginResult`` in an IdP session it hands the request to
the ``ConsentStep`` the consent feature registered when the app was built (``idp.consent``'s
``init_app`` calls ``use_consent_step``). The step answers at once under a remembered consent or
asks the citizen, and ends by issuing the code with an ``Approval``: who logged in and exactly
what this client receives. The code grant stores it with the code (``grants.CodeGrant``); the ID
token and userinfo read the claims from there. Nothing in ``idp.oidc`` decides what is released,
and nothing here imports the feature that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from flask.typing import ResponseReturnValue

from .authenticator import LoginResult

CONSENT_STEP = "idp.oidc.consent_step"


@dataclass(frozen=True)
class Approval:
    """The ``grant_user`` handed to Authlib: who logged in and what this client receives."""

    login: LoginResult
    sub: str
    sid: str
    id_token_claims: dict
    userinfo_claims: dict
    scope: str
    consent_id: str
    items: tuple[str, ...]


class ConsentStep(Protocol):
    def __call__(
        self,
        server,
        store,
        grant,
        redirect_uri: str,
        login: LoginResult,
        sid: str,
        acceptable: list[str],
    ) -> ResponseReturnValue:
        """Answer the validated request ``grant`` for ``login`` (session ``sid``): eventually
        ``server.create_authorization_response`` with an ``Approval``, or an authorization
        error. ``acceptable`` is the acr values the request accepts."""


def use_consent_step(app: Flask, step: ConsentStep) -> None:
    """Make ``step`` what runs after every proven login of ``app``."""
    app.extensions[CONSENT_STEP] = step


def consent_step() -> ConsentStep:
    """The current app's consent step."""
    return current_app.extensions[CONSENT_STEP]
