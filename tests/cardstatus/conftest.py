"""Card status suites: the testing IdP on SQLite with the in-process store, and on PostgreSQL
with Redis; citizens whose logins carry a card certificate (its binding's key), relying parties,
and status changes handed to the app's listener as a source would hand them."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

import pytest
import redis
from flask.typing import ResponseReturnValue

from idp.cardstatus import LISTENER
from idp.config import EphemeralConfig
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange
from idp.oidc.authenticator import AMR_CARD, AUTHENTICATOR, LoginResult, LoginTransaction
from idp.oidc.authorize import finish_login
from idp.services import services
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.db import db
from idp.storage.signing_certificates import note_signing_certificate
from tests.cardless import TEST_CLAIMS
from tests.conftest import REDIS_URL, drop_schema, idp_test_config, make_app
from tests.oidc.rp import RelyingParty

REDIRECT = "https://rp.example/cb"


@dataclass(frozen=True)
class Card:
    """A citizen's card as the IdP knows it: the account and its certificates' keys."""

    account_id: str
    issuer_hash: str
    serial: str
    sign_issuer_hash: str
    sign_serial: str

    def change(self, status: Status, reason: str | None, *, kind=CertificateType.AUTH, at=None):
        """The StatusChange a source would report for this card's certificate of ``kind``."""
        sign = kind is CertificateType.SIGN
        return StatusChange(
            issuer_hash=self.sign_issuer_hash if sign else self.issuer_hash,
            serial=self.sign_serial if sign else self.serial,
            kind=kind,
            status=status,
            reason=reason,
            changed_at=at or dt.datetime.now(dt.UTC).replace(microsecond=0),
            source="feed",
        )


class CardAuthenticator:
    """Logs in ``login_hint``'s account (else ``account_id``'s: the IdP's own pages give no hint)
    at once with its bound authentication certificate, as the card login does once the card
    passed (the CA's answer is the login's own business)."""

    account_id: str | None = None

    def begin(self, transaction: LoginTransaction) -> ResponseReturnValue:
        account_id = transaction.login_hint or self.account_id
        binding = db.session.execute(
            db.select(CertificateBinding).filter_by(account_id=account_id)
        ).scalar_one()
        login = LoginResult(
            account_id=binding.account_id,
            acr=transaction.acr,
            auth_time=int(time.time()),
            amr=AMR_CARD,
            claims=TEST_CLAIMS,
            certificate=f"{binding.issuer_hash}:{binding.serial}",
        )
        return finish_login(transaction.id, login)


@pytest.fixture(params=["sqlite+memory", "postgresql+redis"])
def app(request, tmp_path):
    """The testing IdP whose logins carry the card certificate of ``login_hint``'s account."""
    prefix = ""
    if request.param == "sqlite+memory":
        url, ephemeral = f"sqlite:///{tmp_path}/idp.sqlite3", EphemeralConfig()
    else:
        url = request.getfixturevalue("postgres_url")
        prefix = f"idp-cardstatus-{secrets.token_hex(4)}:"
        ephemeral = EphemeralConfig(redis_url=REDIS_URL, key_prefix=prefix)
    application = make_app(
        idp_test_config(url, ephemeral=ephemeral), tmp_path / "instance", cardless_login=True
    )
    services(application)[AUTHENTICATOR] = CardAuthenticator()
    yield application
    drop_schema(application)
    if prefix:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def make_card(app) -> Card:
    """A new account bound to a new authentication certificate, with a signing certificate
    proven for it."""
    hexes = secrets.token_hex
    card = Card(secrets.token_urlsafe(32), hexes(32), hexes(8).upper(), hexes(32), hexes(8).upper())
    with app.app_context():
        db.session.add(Account(id=card.account_id))
        db.session.add(
            CertificateBinding(
                account_id=card.account_id,
                issuer_hash=card.issuer_hash,
                serial=card.serial,
                not_after=int(time.time()) + 86400 * 365,
            )
        )
        note_signing_certificate(
            card.account_id, "CN=Test Signing CA", card.sign_serial, 0, card.sign_issuer_hash
        )
        db.session.commit()
    return card


@pytest.fixture
def card(app) -> Card:
    return make_card(app)


def register(app, http, name="Bank", **metadata) -> RelyingParty:
    from idp.oidc.clients import register_client

    with app.app_context():
        client, secret = register_client(name, [REDIRECT], "client_secret_basic", **metadata)
        client_id = client.client_id
    return RelyingParty(http, client_id, REDIRECT, secret=secret)


def deliver(app, *changes: StatusChange) -> None:
    """Hand ``changes`` to the app's listener in one batch, as a source does."""
    services(app)[LISTENER].changed(list(changes))
