"""The card login (issue 7 §1): the ``Authenticator`` that proves a person with the My Number
Card's user-authentication certificate, through the bridge on their machine.

``begin`` only records the transaction and sends the browser to the login page
(``views.card_page``). The page finds the bridge, has the IdP issue a challenge bound to this
transaction, runs the bridge's operation and posts its result back (``views.card_result``),
where ``CardVerifier`` checks it against the IdP's own origin and the stored challenge; only
then is ``finish_login`` called. Architecture.md, "A login, step by step", steps 2-5.
"""

from __future__ import annotations

import secrets

from flask import current_app, redirect, session, url_for
from flask.typing import ResponseReturnValue

from ..oidc.authenticator import LoginTransaction
from . import transactions
from .pages import refused_page
from .refusals import NOT_CONFIGURED


class CardAuthenticator:
    """Login with the user-authentication certificate: acr ``ACR_CARD_AUTH``."""

    def __init__(self, transaction_ttl: float) -> None:
        self.transaction_ttl = transaction_ttl

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        store = current_app.extensions["idp.ephemeral"]
        browser = session.setdefault("browser", secrets.token_urlsafe(16))
        record = transactions.CardLogin(
            transaction=transaction.id,
            service=transactions.service_name(transaction.client_name),
            browser=browser,
            ui_locales=transaction.ui_locales,
        )
        transactions.save(store, record, self.transaction_ttl)
        return redirect(url_for("login.card_page", transaction=transaction.id), 303)


class UnavailableAuthenticator:
    """No trust anchors for the authentication CA are configured: every login is refused with
    a page that says so, rather than pretending a card could be checked."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:  # noqa: ARG002
        return refused_page(NOT_CONFIGURED)
