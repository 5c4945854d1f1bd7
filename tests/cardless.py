"""A login and a consent without a card, for tests only: nothing in ``idp/`` can turn them on.

The product always builds the card login (or, without trust anchors, a login that refuses
everyone) and the citizen's consent pages. A test that wants to exercise the OIDC core (acr,
amr, sessions, pairwise subjects, claims, tokens) without driving a card swaps both on the app
object it built:

    from tests.conftest import idp_test_config, make_app

    app = make_app(idp_test_config(database_url), tmp_path / "instance", cardless_login=True)

or, for an app built some other way, ``install_cardless_login(app)``; ``tests/conftest.py``'s
``cardless_app`` fixture is the first form on the parametrised database. A served process (the
two-process test) uses ``tests.cardless_wsgi``.

``CardlessAuthenticator`` logs in the account named by ``login_hint`` (``DEFAULT_ACCOUNT`` when
none; created if missing) at exactly the acr the request needed. ``CardlessConsentScreen``
approves every requested item with a decision the product checks like any screen's: inside the
login session when nothing per-request is asked; otherwise as the citizen's pages would after
verifying a card signature (``card-step-up``, or ``card-sign`` with ``TEST_IDENTITY`` when an
identity is needed), its evidence bound to what is granted. The product has no way to accept a
decision without that evidence.
"""

from __future__ import annotations

import dataclasses
import time

from flask import Flask
from flask.typing import ResponseReturnValue

from idp.consent.consenting import finish_consent
from idp.consent.decisions import (
    AUTH_SESSION,
    AUTH_SIGN,
    AUTH_STEP_UP,
    CONSENT_SCREEN,
    ConsentDecision,
    ConsentRequest,
    VerifiedIdentity,
    content_digest,
    needs_card,
)
from idp.oidc.authenticator import AMR_CARD, AUTHENTICATOR, LoginResult, LoginTransaction
from idp.oidc.authorize import finish_login
from idp.services import services
from idp.storage.accounts import Account
from idp.storage.db import db

DEFAULT_ACCOUNT = "test-account-1"
"""The account logged in when the request names none in ``login_hint``."""
TEST_CLAIMS = {"name": "テスト 太郎", "family_name": "テスト", "given_name": "太郎"}
"""Claims every cardless login establishes."""
TEST_IDENTITY = VerifiedIdentity(
    name="テスト　太郎",
    address="東京都千代田区霞が関二丁目一番二号",
    birthdate="1980-04-01",
    gender="male",
    issuer="OU=Test Signing CA,O=JPKI-TEST,C=JP",
    serial="0123ABCD",
    signed_at=0,
)
"""The verified identity (basic four facts) the cardless consent screen approves with."""


class CardlessAuthenticator:
    """Completes every login at once as ``login_hint`` (or ``DEFAULT_ACCOUNT``)."""

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        account_id = transaction.login_hint or DEFAULT_ACCOUNT
        if db.session.get(Account, account_id) is None:
            db.session.add(Account(id=account_id))
            db.session.commit()
        login = LoginResult(
            account_id=account_id,
            acr=transaction.acr,
            auth_time=int(time.time()),
            amr=AMR_CARD,
            claims=TEST_CLAIMS,
        )
        return finish_login(transaction.id, login)


class CardlessConsentScreen:
    """Approves every requested item at once, with ``TEST_IDENTITY`` when one is needed."""

    def begin(self, request: ConsentRequest) -> ResponseReturnValue:
        return finish_consent(request.id, approve_all(request))


def approve_all(request: ConsentRequest) -> ConsentDecision:
    """The decision ``CardlessConsentScreen`` takes: every item, ``TEST_IDENTITY`` if needed,
    with the evidence the citizen's pages record after checking a card (as if signed by
    ``TEST_IDENTITY``'s card) when an item needs one."""
    granted = tuple(item.id for item in request.items)
    wants_identity = request.identity_required or any(i.needs_identity for i in request.items)
    if not (wants_identity or needs_card(granted)):
        return ConsentDecision(granted=granted, auth_method=AUTH_SESSION)
    evidence = {"content_digest": content_digest(request, granted), "serial": TEST_IDENTITY.serial}
    if not wants_identity:
        return ConsentDecision(granted=granted, auth_method=AUTH_STEP_UP, evidence=evidence)
    identity = dataclasses.replace(TEST_IDENTITY, signed_at=int(time.time()))
    return ConsentDecision(granted, AUTH_SIGN, evidence, identity)


def install_cardless_login(app: Flask) -> Flask:
    """Make ``app`` log anyone in without a card and approve every consent; returns ``app``."""
    services(app)[AUTHENTICATOR] = CardlessAuthenticator()
    services(app)[CONSENT_SCREEN] = CardlessConsentScreen()
    return app
