"""What a status change at the CA does to the account bound to the certificate, per reason.

Each test logs a citizen in (the card login's result carries its certificate), lets services
get tokens, hands the listener a change as the revocation feed or a CRL would, and checks every
place the IdP's trust had gone: the IdP session (``prompt=none``), refresh tokens of every client
(also one whose session is long gone), access tokens at userinfo and the self-information API,
back-channel logout, and the event the account page shows.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from sqlalchemy import update

import idp.oidc.backchannel as backchannel
from idp.cardstatus.listener import apply
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange
from idp.oidc.server import SERVER
from idp.oidc.sessions import sessions_of
from idp.services import services
from idp.storage.card_status import CardStatusEvent
from idp.storage.db import db
from idp.storage.models import LogoutDelivery, TokenFamily
from tests.cardstatus.conftest import deliver, make_card, register
from tests.oidc.rp import query
from tests.selfinfo.samples import store as store_selfinfo

BCL = "http://127.0.0.1:9/bcl"
"""Nothing listens there: the courier is held (``held_courier``), the tokens stay queued."""
SCOPE = "openid selfinfo:income"
STOPPING = [
    (Status.REVOKED, "keyCompromise"),
    (Status.ON_HOLD, "certificateHold"),
    (Status.REVOKED, "superseded"),
    (Status.REVOKED, "cessationOfOperation"),
]


@pytest.fixture(autouse=True)
def held_courier(monkeypatch):
    """Logout tokens stay queued where the test can count them."""
    monkeypatch.setattr(backchannel.Courier, "wake", lambda _self: None)


@pytest.fixture
def citizen(app, card):
    store_selfinfo(app, card.account_id, "income")
    return card


def _refresh(rp, refresh_token: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers)


def _userinfo(http, access_token: str):
    return http.get("/userinfo", headers={"Authorization": "Bearer " + access_token})


def _selfinfo(http, access_token: str):
    return http.get("/selfinfo/v1/income", headers={"Authorization": "Bearer " + access_token})


def _silent(rp, card) -> dict:
    """``prompt=none`` in the RP's browser: the answer's parameters."""
    response = rp.authorize(prompt="none", login_hint=card.account_id, scope="openid")
    assert response.status_code == 302, response.get_data(as_text=True)
    return query(response.headers["Location"])


def _alive(rp, card) -> bool:
    """The IdP session lives: ``prompt=none`` gets a code, or asks for consent (the earlier
    consent covered one request only), never ``login_required``."""
    answer = _silent(rp, card)
    return "code" in answer or answer.get("error") == "consent_required"


def _events(app, card) -> list[CardStatusEvent]:
    with app.app_context():
        query_ = db.select(CardStatusEvent).filter_by(account_id=card.account_id)
        rows = list(db.session.execute(query_.order_by(CardStatusEvent.id)).scalars())
        db.session.expunge_all()
        return rows


def _logouts(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(db.select(LogoutDelivery).order_by(LogoutDelivery.id)).scalars()
        return [(row.client_id, row.sid) for row in rows]


def _later(app, seconds: int = 2) -> None:
    """Move what was recorded ``seconds`` into the past: the next login is clearly after it
    (the IdP keeps whole seconds, and refuses a login in the very second of a hold)."""
    with app.app_context():
        db.session.execute(
            update(CardStatusEvent).values(recorded_at=CardStatusEvent.recorded_at - seconds)
        )
        db.session.commit()


def _forget_session(app, http) -> None:
    """The browser's IdP session expires (its token families live on)."""
    with app.app_context(), http.session_transaction() as cookie:
        services(app)[SERVER].services.store().delete("session:" + cookie["sid"])


class World:
    """A citizen logged in at two services in two browsers; the insurer's session expired."""

    def __init__(self, app, card) -> None:
        self.app, self.card = app, card
        self.bank = register(app, app.test_client(), "Bank", backchannel_logout_uri=BCL)
        self.insurer = register(app, app.test_client(), "Insurer", backchannel_logout_uri=BCL)
        self.bank_tokens = self.bank.tokens(scope=SCOPE, login_hint=card.account_id)
        first = self.bank_tokens["access_token"]
        refreshed = _refresh(self.bank, self.bank_tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
        self.bank_tokens = refreshed.json
        self.access_tokens = [first, self.bank_tokens["access_token"]]
        self.insurer_tokens = self.insurer.tokens(scope=SCOPE, login_hint=card.account_id)
        _forget_session(app, self.insurer.http)
        self.access_tokens.append(self.insurer_tokens["access_token"])

    def refreshes(self) -> list:
        return [
            _refresh(self.bank, self.bank_tokens["refresh_token"]),
            _refresh(self.insurer, self.insurer_tokens["refresh_token"]),
        ]


@pytest.mark.parametrize(("status", "reason"), STOPPING)
def test_a_stopped_authentication_certificate_ends_everything_the_card_gave(
    app, citizen, status, reason
):
    world = World(app, citizen)
    http = world.bank.http
    for token in world.access_tokens:
        assert _userinfo(http, token).status_code == 200
        assert _selfinfo(http, token).status_code == 200
    assert _alive(world.bank, citizen)

    deliver(app, citizen.change(status, reason))

    assert _silent(world.bank, citizen)["error"] == "login_required"
    for response in world.refreshes():
        assert response.status_code == 400
        assert response.json["error"] == "invalid_grant"
    for token in world.access_tokens:
        refused = _userinfo(http, token)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
        refused = _selfinfo(http, token)
        assert refused.status_code == 401
        assert refused.json["error"] == "invalid_token"
    with app.app_context():
        assert (
            db.session.execute(db.select(TokenFamily).filter_by(revoked_at=None)).scalars().all()
            == []
        )
        assert sessions_of(services(app)[SERVER].services.store(), citizen.account_id) == []
    [event] = _events(app, citizen)
    assert (event.kind, event.status, event.reason) == ("auth", status.value, reason)
    assert event.applied_at is not None
    assert (event.sessions_ended, event.families_revoked) == (1, 1)  # the insurer's, sessionless
    logouts = _logouts(app)
    assert (world.bank.client_id, None) not in logouts  # its session's logout names the sid
    assert [sid for client, sid in logouts if client == world.bank.client_id] != [None]
    assert (world.insurer.client_id, None) in logouts  # no session left: by sub, no sid


@pytest.mark.parametrize(("status", "reason"), STOPPING)
def test_the_same_change_again_is_a_no_op(app, citizen, status, reason):
    world = World(app, citizen)
    change = citizen.change(status, reason)
    deliver(app, change)
    logouts = _logouts(app)
    _later(app)
    tokens = world.bank.tokens(scope=SCOPE, login_hint=citizen.account_id)  # a new login

    deliver(app, change)
    deliver(app, change, change)

    assert len(_events(app, citizen)) == 1
    assert _logouts(app) == logouts
    assert _alive(world.bank, citizen)
    assert _refresh(world.bank, tokens["refresh_token"]).status_code == 200
    assert _userinfo(world.bank.http, tokens["access_token"]).status_code == 200


def test_the_same_revocation_from_another_source_at_another_time_is_a_no_op(app, citizen):
    world = World(app, citizen)
    deliver(app, citizen.change(Status.REVOKED, "keyCompromise"))
    _later(app)
    tokens = world.bank.tokens(scope=SCOPE, login_hint=citizen.account_id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    deliver(app, citizen.change(Status.REVOKED, None, at=later))  # a CRL's view of it
    deliver(app, citizen.change(Status.ON_HOLD, "certificateHold", at=later))  # revoked is final
    assert len(_events(app, citizen)) == 1
    assert _refresh(world.bank, tokens["refresh_token"]).status_code == 200


def test_an_unknown_certificate_changes_nothing(app, citizen):
    world = World(app, citizen)
    for kind in CertificateType:
        stranger = StatusChange(
            issuer_hash=citizen.issuer_hash if kind is CertificateType.AUTH else "0" * 64,
            serial=secrets.token_hex(8).upper(),
            kind=kind,
            status=Status.REVOKED,
            reason="keyCompromise",
            changed_at=dt.datetime.now(dt.UTC),
            source="delta-crl",
        )
        deliver(app, stranger)
    with app.app_context():
        assert db.session.execute(db.select(CardStatusEvent)).scalars().all() == []
    assert _alive(world.bank, citizen)
    assert _refresh(world.bank, world.bank_tokens["refresh_token"]).status_code == 200
    assert _userinfo(world.bank.http, world.access_tokens[0]).status_code == 200


def test_another_citizens_card_changes_nothing_for_this_one(app, citizen):
    world = World(app, citizen)
    other = make_card(app)
    deliver(app, other.change(Status.REVOKED, "keyCompromise"))
    assert _alive(world.bank, citizen)
    assert _refresh(world.bank, world.bank_tokens["refresh_token"]).status_code == 200
    assert _userinfo(world.bank.http, world.access_tokens[1]).status_code == 200


def test_a_released_hold_restores_logins_but_not_the_ended_sessions(app, citizen):
    world = World(app, citizen)
    held = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    deliver(app, citizen.change(Status.ON_HOLD, "certificateHold", at=held))
    deliver(app, citizen.change(Status.RELEASED, "removeFromCRL"))

    assert [e.status for e in _events(app, citizen)] == ["on_hold", "released"]
    assert _silent(world.bank, citizen)["error"] == "login_required"
    for response in world.refreshes():
        assert response.json["error"] == "invalid_grant"
    assert _userinfo(world.bank.http, world.access_tokens[1]).status_code == 401

    _later(app)
    tokens = world.bank.tokens(scope=SCOPE, login_hint=citizen.account_id)  # a new card login
    assert _alive(world.bank, citizen)
    refreshed = _refresh(world.bank, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert _userinfo(world.bank.http, refreshed.json["access_token"]).status_code == 200
    assert _selfinfo(world.bank.http, refreshed.json["access_token"]).status_code == 200


def test_a_release_without_a_hold_and_a_stale_change_change_nothing(app, citizen):
    world = World(app, citizen)
    deliver(app, citizen.change(Status.RELEASED, "removeFromCRL"))
    assert _events(app, citizen) == []
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deliver(app, citizen.change(Status.ON_HOLD, "certificateHold", at=now))
    deliver(app, citizen.change(Status.RELEASED, None, at=now - dt.timedelta(seconds=60)))
    assert [e.status for e in _events(app, citizen)] == ["on_hold"]
    assert _silent(world.bank, citizen)["error"] == "login_required"


def test_a_revoked_signing_certificate_is_recorded_and_ends_nothing(app, citizen):
    world = World(app, citizen)
    change = citizen.change(Status.REVOKED, "affiliationChanged", kind=CertificateType.SIGN)
    deliver(app, change)
    deliver(app, change)

    [event] = _events(app, citizen)
    assert (event.kind, event.status, event.reason) == ("sign", "revoked", "affiliationChanged")
    assert (event.sessions_ended, event.families_revoked) == (0, 0)
    assert _alive(world.bank, citizen)
    assert _refresh(world.bank, world.bank_tokens["refresh_token"]).status_code == 200
    assert _userinfo(world.bank.http, world.access_tokens[1]).status_code == 200
    assert _logouts(app) == []


def test_a_code_issued_before_the_hold_is_refused_after_it(app, citizen):
    bank = register(app, app.test_client())
    code = bank.login_code(scope=SCOPE, login_hint=citizen.account_id)
    deliver(app, citizen.change(Status.ON_HOLD, "certificateHold"))
    refused = bank.token(code)
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_grant"
    assert "suspended" in refused.json["error_description"]


def test_a_change_recorded_but_never_applied_is_applied_at_its_next_delivery(app, citizen):
    """A crash between recording and applying: the same change delivered again does it."""
    world = World(app, citizen)
    change = citizen.change(Status.REVOKED, "keyCompromise")
    with app.app_context():
        db.session.add(
            CardStatusEvent(
                account_id=citizen.account_id,
                kind="auth",
                issuer_hash=change.issuer_hash,
                serial=change.serial,
                status="revoked",
                reason="keyCompromise",
                changed_at=int(change.changed_at.timestamp()),
                source="feed",
            )
        )
        db.session.commit()
    deliver(app, change)
    [event] = _events(app, citizen)
    assert event.applied_at is not None
    assert event.families_revoked == 1
    for response in world.refreshes():
        assert response.json["error"] == "invalid_grant"
    with app.app_context():
        assert apply(change) == []  # applied now: nothing more
