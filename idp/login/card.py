"""The card login: the ``Authenticator`` that proves a person with the My Number
Card's user-authentication certificate, through the bridge on their machine.

``begin`` only sends the browser to the login page (``views.card_page``): the OIDC core has already
recorded the transaction, and the pages read it from there (``transactions.load``). The page finds
the bridge, has the IdP issue a challenge bound to this transaction, runs the bridge's operation and
posts its result back (``views.card_result``), where ``CardVerifier`` checks it against the IdP's
own origin and the stored challenge; only then is ``finish_login`` called.
See docs/architecture.md §3, steps 2-5.
"""

from __future__ import annotations

from flask import redirect, url_for
from flask.typing import ResponseReturnValue

from ..oidc.authenticator import LoginTransaction
from ..web.refusals import NOT_CONFIGURED
from .refusals import refused_page


class CardAuthenticator:
    """Login with the user-authentication certificate: acr ``ACR_CARD_AUTH``."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        return redirect(url_for("login.card_page", transaction=transaction.id), 303)


class UnavailableAuthenticator:
    """No trust anchors for the authentication CA are configured: every login is refused with
    a page that says so, rather than pretending a card could be checked."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:  # noqa: ARG002
        return refused_page(NOT_CONFIGURED)
