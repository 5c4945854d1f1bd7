"""After a proven login: the consent step as the protocol sees it, and the approval it ends with.

The authorization endpoint (``idp.oidc.authorize``) validates the request and has the person
proven (the ``Authenticator``); with a ``LoginResult`` in an IdP session it hands the request to
the ``ConsentStep`` the consent feature registered when the app was built (``idp.consent``'s
``init_app`` registers as ``CONSENT_STEP``). The step answers at once under a remembered consent or
asks the citizen, and ends by issuing the code with an ``Approval``: who logged in and exactly
what this client receives. The code grant stores it with the code (``grants.CodeGrant``); the ID
token and userinfo read the claims from there. Nothing in ``idp.oidc`` decides what is released,
and nothing here imports the feature that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask.typing import ResponseReturnValue

from ..services import Service
from .authenticator import LoginResult


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


CONSENT_STEP: Service[ConsentStep] = Service("consent step")
"""What runs after every proven login: registered by ``idp.consent``."""
