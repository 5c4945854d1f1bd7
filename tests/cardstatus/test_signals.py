"""The relying parties hear of each change through their Shared Signals streams, once."""

from __future__ import annotations

import datetime as dt

import pytest

import idp.oidc.backchannel as backchannel
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status
from idp.services import services
from idp.ssf import events, push
from tests.cardstatus.conftest import deliver
from tests.cardstatus.test_effects import SCOPE, World
from tests.ssf.rows import add_stream, outbox


@pytest.fixture(autouse=True)
def held_couriers(monkeypatch):
    """Logout tokens and Security Event Tokens stay in their outboxes for the test to read."""
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: None)
    monkeypatch.setattr(push.Courier, "wake", lambda _self: None)


def _kinds(app, stream_id: str) -> list[str]:
    with app.app_context():
        return [next(iter(claims["events"])) for claims in outbox(stream_id)]


def test_every_service_holding_a_grant_hears_of_a_hold_and_its_release_once(app, card):
    world = World(app, card)
    with app.app_context():
        streams = [add_stream(rp.client_id) for rp in (world.bank, world.insurer)]
    held = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    hold = card.change(Status.ON_HOLD, "certificateHold", at=held)
    deliver(app, hold)
    deliver(app, hold)  # from the CRL as well: told once
    for stream_id in streams:  # the insurer's session was gone: its tokens still count
        assert _kinds(app, stream_id) == [events.ACCOUNT_DISABLED, events.SESSION_REVOKED]
    deliver(app, card.change(Status.RELEASED, "removeFromCRL"))
    for stream_id in streams:
        assert _kinds(app, stream_id)[-1] == events.ACCOUNT_ENABLED


def test_changed_facts_are_told_and_nothing_is_ended(app, card):
    bank = World(app, card).bank
    with app.app_context():
        stream_id = add_stream(bank.client_id)
    deliver(app, card.change(Status.REVOKED, "affiliationChanged", kind=CertificateType.SIGN))
    issuer = services(app).config.issuer
    assert _kinds(app, stream_id) == [issuer + events.FACTS_CHANGED_PATH]
    assert bank.tokens(scope=SCOPE, login_hint=card.account_id, prompt=None)["access_token"]


def test_an_unknown_certificate_tells_no_one(app, card):
    bank = World(app, card).bank
    with app.app_context():
        stream_id = add_stream(bank.client_id)
    stranger = card.change(Status.REVOKED, "keyCompromise")
    deliver(app, stranger.__class__(**{**stranger.__dict__, "serial": "FFFF0001"}))
    assert _kinds(app, stream_id) == []
