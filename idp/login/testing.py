"""The test authenticator: logs in the account named by ``login_hint`` without a card.

Only the ``testing`` environment can enable it (``Config.check`` refuses it elsewhere, and
production refuses it first). It reaches exactly the acr the request needed, so the OIDC suites
can exercise acr, amr, sessions and pairwise subjects before the card flow exists.
"""

from __future__ import annotations

import time

from flask.typing import ResponseReturnValue

from ..oidc.authenticator import AMR_CARD, LoginResult, LoginTransaction
from ..oidc.authorize import finish_login

DEFAULT_ACCOUNT = "test-account-1"
TEST_CLAIMS = {"name": "テスト 太郎", "family_name": "テスト", "given_name": "太郎"}


class TestAuthenticator:
    """Completes every login at once as ``login_hint`` (or a default account)."""

    __test__ = False  # not a pytest test class

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        login = LoginResult(
            account_id=transaction.login_hint or DEFAULT_ACCOUNT,
            acr=transaction.acr,
            auth_time=int(time.time()),
            amr=AMR_CARD,
            claims=TEST_CLAIMS,
        )
        return finish_login(transaction.id, login)
