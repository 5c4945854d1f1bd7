"""The test authenticator and consent screen: a login and an approval without a card.

Only the ``testing`` environment can enable them (``Config.check`` refuses the test
authenticator elsewhere, and production refuses it first). The authenticator logs in the account
named by ``login_hint`` (creating it) and reaches exactly the acr the request needed; the screen
approves every requested item (auth method ``test``) with a fixed verified identity. So the OIDC
suites can exercise acr, amr, sessions, pairwise subjects and claims without pages.
"""

from __future__ import annotations

import dataclasses
import time

from flask.typing import ResponseReturnValue

from ..oidc.authenticator import AMR_CARD, LoginResult, LoginTransaction
from ..oidc.authorize import finish_consent, finish_login
from ..oidc.consent import AUTH_TEST, ConsentDecision, ConsentRequest, VerifiedIdentity
from ..storage.accounts import Account
from ..storage.db import db

DEFAULT_ACCOUNT = "test-account-1"
TEST_CLAIMS = {"name": "テスト 太郎", "family_name": "テスト", "given_name": "太郎"}
TEST_IDENTITY = VerifiedIdentity(
    name="テスト　太郎",
    address="東京都千代田区霞が関二丁目一番二号",
    birthdate="1980-04-01",
    gender="male",
    issuer="OU=Test Signing CA,O=JPKI-TEST,C=JP",
    serial="0123ABCD",
    signed_at=0,
)


class TestAuthenticator:
    """Completes every login at once as ``login_hint`` (or a default account)."""

    __test__ = False  # not a pytest test class

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


class TestConsentScreen:
    """Approves every requested item at once, with ``TEST_IDENTITY`` when one is needed."""

    __test__ = False

    def begin(self, request: ConsentRequest) -> ResponseReturnValue:
        wants_identity = request.identity_required or any(i.needs_identity for i in request.items)
        identity = dataclasses.replace(TEST_IDENTITY, signed_at=int(time.time()))
        decision = ConsentDecision(
            granted=tuple(item.id for item in request.items),
            auth_method=AUTH_TEST,
            identity=identity if wants_identity else None,
        )
        return finish_consent(request.id, decision)
