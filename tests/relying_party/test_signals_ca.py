"""From the CA to the bank's page: the sandbox CA changes a card's certificate (``revoke``,
``hold``), the IdP's watcher reads its revocation feed and delta CRLs on its next poll, its
card-status listener finds the account, the transmitter pushes the Security Event Tokens, and
the sample bank, subscribed as the demo subscribes it, acts. Nothing is handed over by the test
but the poll (the IdP polls on a thread of its own when serving, not in tests).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from examples.relying_party import create_app, signals
from examples.relying_party.settings import BankSettings
from examples.relying_party.subscription import receiver, subscribe
from idp.cardstatus import WATCHER
from idp.jpki.settings import CertificateType, RevocationFeedSettings
from idp.jpki.status import issuer_hash_of
from idp.services import services
from idp.ssf.streams import COURIER
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.db import db
from idp.storage.signing_certificates import note_signing_certificate
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port
from sandbox.state import SandboxState
from tests.jpki.conftest import make_settings, server, state  # noqa: F401 (the sandbox fixtures)
from tests.oidc.live import serving
from tests.relying_party.conftest import ACCOUNT, Bank, Idp, apply, register, session_data


@dataclass
class Watched:
    idp: Idp
    bank: Bank
    state: SandboxState
    card_id: str


def _bind(app, state, card) -> None:  # noqa: F811 (the sandbox fixture)
    """The card is the account's, as its card login and identity step would have recorded."""
    now = int(time.time())
    with app.app_context():
        if db.session.get(Account, ACCOUNT) is None:
            db.session.add(Account(id=ACCOUNT))
        db.session.add(
            CertificateBinding(
                account_id=ACCOUNT,
                issuer_hash=issuer_hash_of(state.ca(CertKind.AUTH).certificate.subject),
                serial=card.serials["auth"],
                not_after=now + 86400,
            )
        )
        signing_ca = state.ca(CertKind.SIGN).certificate.subject
        note_signing_certificate(
            ACCOUNT, signing_ca.rfc4514_string(), card.serials["sign"], now,
            issuer_hash_of(signing_ca),
        )  # fmt: skip
        db.session.commit()


@pytest.fixture(scope="module")
def watched(state, server, tmp_path_factory) -> Iterator[Watched]:  # noqa: F811
    """An IdP watching the sandbox's feed and CRLs (caught up), the bank subscribed to it."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    tmp = tmp_path_factory.mktemp("bank-ca")
    feed = RevocationFeedSettings(
        url=server.feed_url, certificate=str(state.feed_certificate_path())
    )
    port, bank_port = free_port(), free_port()
    config = idp_test_config(
        f"sqlite:///{tmp}/idp.sqlite3",
        issuer=f"http://127.0.0.1:{port}",
        jpki=make_settings(state, server, tmp, revocation_feed=feed),
    )
    app = make_app(config, tmp / "instance", cardless_login=True)
    watcher = services(app)[WATCHER]
    now = dt.datetime.now(dt.UTC)
    for kind in CertificateType:
        watcher.updater.refresh(kind, now)
    watcher.poll_once(now)
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    _bind(app, state, card)
    settings = BankSettings(
        issuer=f"http://127.0.0.1:{port}",
        base_url=f"http://127.0.0.1:{bank_port}",
        instance=tmp / "bank",
    )
    settings.instance.mkdir()
    try:
        with serving(app, port) as idp_url:
            client_id = register(Idp(idp_url, app), settings)
            bank_app = create_app(settings)
            with serving(bank_app, bank_port) as bank_url:
                assert subscribe(receiver(bank_app), wait=20)["verified"]
                bank = Bank(bank_url, bank_app, client_id, settings)
                yield Watched(Idp(idp_url, app), bank, state, card.id)
    finally:
        if courier := services(app)[COURIER]:
            courier.stop()
        drop_schema(app)


def poll(watched: Watched, seconds: float) -> None:
    """The IdP's next round (a delta CRL held is then old enough to be fetched again)."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    services(watched.idp.app)[WATCHER].poll_once(later)


def eventually(check, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def told_of(watched: Watched, sub: str, event: str) -> int:
    return sum(n.event == event for n in watched.bank.app.extensions["bank.signals"].notices(sub))


def test_an_address_change_at_the_ca_asks_the_bank_customer_to_verify_again(watched, browser):
    apply(browser, watched.bank)
    sub = session_data(watched.bank, browser)["sub"]
    facts = signals.facts_changed(watched.idp.url)
    watched.state.revoke(watched.card_id, CertKind.SIGN, "affiliationChanged")  # she moved house
    poll(watched, 20)
    assert eventually(lambda: told_of(watched, sub, facts) == 1)
    page = browser.get(watched.bank.url + "/application?lang=ja")
    assert "本人確認のやり直しが必要です" in page.text
    assert session_data(watched.bank, browser).get("login")  # the application waits


def test_a_suspended_card_at_the_ca_ends_the_bank_session(watched, browser):
    apply(browser, watched.bank)
    sub = session_data(watched.bank, browser)["sub"]
    watched.state.hold(watched.card_id, CertKind.AUTH)
    poll(watched, 40)
    assert eventually(lambda: told_of(watched, sub, signals.ACCOUNT_DISABLED) == 1)
    assert eventually(lambda: session_data(watched.bank, browser) == {})
    assert browser.get(watched.bank.url + "/application").status_code == 401
