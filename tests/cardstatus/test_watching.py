"""From the CA to the account: the app's watcher reads the sandbox's revocation feed and delta
CRLs, and its listener ends what the card gave, on the next poll."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

import pytest
from flask.testing import FlaskCliRunner

import idp.oidc.backchannel as backchannel
from idp.cardstatus import POLLER, WATCHER
from idp.cli import main
from idp.jpki.settings import CertificateType, RevocationFeedSettings
from idp.jpki.status import issuer_hash_of
from idp.login.verification import CRL_REFRESHER
from idp.oidc.authenticator import AUTHENTICATOR
from idp.services import services
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.card_status import CardStatusEvent
from idp.storage.db import db
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from tests.cardstatus.conftest import CardAuthenticator, register
from tests.cardstatus.test_effects import _refresh
from tests.conftest import drop_schema, idp_test_config, make_app
from tests.jpki.conftest import make_settings, server, state  # noqa: F401 (the sandbox fixtures)
from tests.oidc.rp import query


@pytest.fixture(autouse=True)
def held_courier(monkeypatch):
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: None)


def _later(seconds: float = 20) -> dt.datetime:
    """A later round of the poller (a delta CRL held is then old enough to be fetched again)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


@pytest.fixture
def watched(state, server, tmp_path):  # noqa: F811 (the sandbox fixtures)
    """An IdP configured with the sandbox's feed and CRLs, caught up with them."""
    feed = RevocationFeedSettings(
        url=server.feed_url, certificate=str(state.feed_certificate_path())
    )
    jpki = make_settings(state, server, tmp_path, revocation_feed=feed)
    config = idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3", jpki=jpki)
    app = make_app(config, tmp_path / "instance", cardless_login=True)
    services(app)[AUTHENTICATOR] = CardAuthenticator()
    watcher = services(app)[WATCHER]
    now = dt.datetime.now(dt.UTC)
    for kind in CertificateType:
        watcher.updater.refresh(kind, now)
    watcher.poll_once(now)
    yield app
    drop_schema(app)


def _bind(app, state, card) -> str:  # noqa: F811 (the sandbox fixtures)
    """The account the sandbox card's authentication certificate logs in to."""
    issuer = issuer_hash_of(state.ca(CertKind.AUTH).certificate.subject)
    account_id = "holder-" + card.id
    with app.app_context():
        db.session.add(Account(id=account_id))
        db.session.add(
            CertificateBinding(
                account_id=account_id,
                issuer_hash=issuer,
                serial=card.serials["auth"],
                not_after=int(time.time()) + 86400,
            )
        )
        db.session.commit()
    return account_id


def test_the_app_watches_in_tests_only_when_asked(watched):
    assert services(watched)[WATCHER] is not None
    assert services(watched)[POLLER] is None  # no thread in tests: they poll themselves


def test_a_hold_at_the_ca_ends_the_session_and_refreshes_on_the_next_poll(watched, state):  # noqa: F811
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    account_id = _bind(watched, state, card)
    bank = register(watched, watched.test_client())
    tokens = bank.tokens(login_hint=account_id)

    state.hold(card.id, CertKind.AUTH)
    services(watched)[WATCHER].poll_once(_later())

    with watched.app_context():
        events = db.session.execute(db.select(CardStatusEvent)).scalars().all()
        assert [(e.account_id, e.status, e.reason) for e in events] == [
            (account_id, "on_hold", "certificateHold")
        ]  # heard from the feed and the delta CRL: recorded once
        assert events[0].source in ("feed", "delta-crl")
    silent = bank.authorize(prompt="none", login_hint=account_id)
    assert query(silent.headers["Location"])["error"] == "login_required"
    assert _refresh(bank, tokens["refresh_token"]).json["error"] == "invalid_grant"


def test_idp_jpki_status_poll_uses_the_apps_listener(watched, state):  # noqa: F811
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    account_id = _bind(watched, state, card)
    state.revoke(card.id, CertKind.AUTH, "keyCompromise")
    result = FlaskCliRunner(watched).invoke(main, ["jpki", "status-poll"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changes"] >= 1
    with watched.app_context():
        [event] = db.session.execute(db.select(CardStatusEvent)).scalars().all()
        assert (event.account_id, event.reason) == (account_id, "keyCompromise")


def test_without_a_source_there_is_no_watcher(app):
    assert not services(app).config.jpki.revocation_feed.url
    assert services(app)[WATCHER] is None


def test_with_full_crls_alone_a_serving_idp_hears_what_a_new_one_changes(state, server, tmp_path):  # noqa: F811
    jpki = make_settings(state, server, tmp_path, delta_crl_urls={})
    config = idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3", jpki=jpki)
    app = make_app(dataclasses.replace(config, environment="development"), tmp_path / "instance")
    try:
        assert services(app)[POLLER] is None  # nothing to poll: the refresher's CRLs are told
        updater = services(app)[CRL_REFRESHER].updater
        updater.refresh(CertificateType.AUTH, dt.datetime.now(dt.UTC))  # the first: no changes
        card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
        account_id = _bind(app, state, card)
        state.revoke(card.id, CertKind.AUTH, "keyCompromise")
        updater.refresh(CertificateType.AUTH, _later())
        with app.app_context():
            [event] = db.session.execute(db.select(CardStatusEvent)).scalars().all()
            assert (event.account_id, event.status, event.reason, event.source) == (
                account_id, "revoked", "keyCompromise", "crl"
            )  # fmt: skip
    finally:
        drop_schema(app)
