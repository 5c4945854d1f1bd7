"""Push retries, restarts and expiry, subjects removed and added, on the durable outbox."""

from __future__ import annotations

import json
import time

import pytest

from idp.oidc.server import SERVER
from idp.services import services
from idp.ssf import push
from idp.storage.db import db
from idp.storage.streams import SignalEvent
from tests.ssf.receiver import PUSH
from tests.ssf.test_transmitter import event_of, login_sub, tell

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"


def deliver(app, now: float | None = None) -> int:
    with app.app_context():
        return push.deliver_due(services(app)[SERVER].services, int(now or time.time()))


def rows(app) -> list[SignalEvent]:
    with app.app_context():
        found = db.session.scalars(db.select(SignalEvent).order_by(SignalEvent.id)).all()
        db.session.expunge_all()
        return list(found)


@pytest.fixture
def pushed(bank, push_endpoint):
    """The bank, logged in once, with a push stream to its endpoint; the courier thread stopped,
    so that the test delivers at the moments it chooses."""
    from idp.ssf.streams import COURIER

    services(bank.http.application)[COURIER].stop()
    login_sub(bank)
    delivery = {"method": PUSH, "endpoint_url": push_endpoint.url}
    bank.create_stream(delivery, events_requested=[CAEP + "session-revoked"])
    return bank


def test_a_receiver_down_then_up_gets_the_event_after_a_retry(pushed, push_endpoint):
    app = pushed.http.application
    push_endpoint.answer = (503, b"")
    tell(app)
    start = time.time()
    assert deliver(app, start) == 1
    [row] = rows(app)
    assert row.attempts == 1
    assert row.acked_at is None
    assert row.last_error == "HTTP 503"
    assert row.next_attempt_at >= int(start) + push.RETRY_DELAYS[0]
    assert deliver(app, start + 1) == 0  # not due yet: backoff

    push_endpoint.answer = None  # up again
    assert deliver(app, start + push.RETRY_DELAYS[0] + 1) == 1
    [(_headers, body)] = push_endpoint.wait_for(1)
    assert event_of(pushed.check(body.decode()))[0] == CAEP + "session-revoked"
    [row] = rows(app)
    assert row.acked_at is not None
    assert row.attempts == 2
    assert deliver(app, start + 10_000) == 0  # delivered once


def test_an_unreachable_receiver_is_retried_with_growing_delays(pushed, push_endpoint):
    app = pushed.http.application
    push_endpoint.close()  # nothing listens any more
    tell(app)
    now = time.time()
    waits = []
    for _ in range(len(push.RETRY_DELAYS) + 2):
        assert deliver(app, now) == 1
        [row] = rows(app)
        assert row.last_error.startswith("unreachable")
        waits.append(row.next_attempt_at - int(now))
        now = row.next_attempt_at
    assert waits == [*push.RETRY_DELAYS, push.LAST_DELAY, push.LAST_DELAY]


def test_a_set_the_receiver_refuses_is_not_sent_again_but_invalid_key_is(pushed, push_endpoint):
    app = pushed.http.application
    push_endpoint.answer = (400, json.dumps({"err": "invalid_key", "description": "kid?"}).encode())
    tell(app)
    now = time.time()
    deliver(app, now)
    [row] = rows(app)
    assert row.acked_at is None  # a receiver that has not fetched the new key yet: retried
    push_endpoint.answer = (400, json.dumps({"err": "invalid_audience"}).encode())
    deliver(app, row.next_attempt_at)
    [row] = rows(app)
    assert row.acked_at is not None
    assert row.last_error == "invalid_audience"
    push_endpoint.answer = None
    assert deliver(app, now + 100_000) == 0
    assert push_endpoint.received == []


def test_the_outbox_survives_a_restart(pushed, push_endpoint, tmp_path):
    from idp.ssf.streams import COURIER
    from tests.conftest import idp_test_config, make_app

    app = pushed.http.application
    push_endpoint.answer = (503, b"")
    tell(app)
    deliver(app)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    push_endpoint.answer = None

    again = make_app(idp_test_config(url), tmp_path / "instance")  # a new process, same store
    try:
        services(again)[COURIER].start()  # as a served process does on its first request
        [(_headers, body)] = push_endpoint.wait_for(1, timeout=push.RETRY_DELAYS[0] + 15)
        assert event_of(pushed.check(body.decode()))[0] == CAEP + "session-revoked"
    finally:
        services(again)[COURIER].stop()


def test_expired_events_are_dropped_unsent(pushed, push_endpoint):
    app = pushed.http.application
    push_endpoint.answer = (503, b"")
    tell(app)
    [row] = rows(app)
    push_endpoint.answer = None
    assert deliver(app, row.expires_at) == 0
    assert rows(app) == []
    assert push_endpoint.received == []


def test_a_removed_subject_hears_nothing_until_added_again(pushed, push_endpoint):
    from idp.ssf.events import SESSION_REVOKED

    app = pushed.http.application
    sub = login_sub(pushed)
    stream = pushed.call("GET", "configuration_endpoint").json[0]
    subject = {"format": "iss_sub", "iss": pushed.issuer, "sub": sub}
    body = {"stream_id": stream["stream_id"], "subject": subject}
    assert pushed.call("POST", "remove_subject_endpoint", body).status_code == 204
    assert tell(app) == 0
    assert pushed.call("POST", "add_subject_endpoint", body).status_code == 200
    assert tell(app) == 1
    deliver(app)
    [(_headers, sent)] = push_endpoint.wait_for(1)
    claims = pushed.check(sent.decode())
    assert event_of(claims)[0] == SESSION_REVOKED
    assert claims["sub_id"]["sub"] == sub


def test_a_paused_stream_holds_its_events_and_a_disabled_one_drops_them(pushed, push_endpoint):
    app = pushed.http.application
    stream_id = pushed.call("GET", "configuration_endpoint").json[0]["stream_id"]
    status = {"stream_id": stream_id, "status": "paused"}
    pushed.call("POST", "status_endpoint", status)
    tell(app)
    assert deliver(app) == 0
    assert len(rows(app)) == 1  # held
    pushed.call("POST", "status_endpoint", {**status, "status": "enabled"})
    assert deliver(app) == 1
    assert len(push_endpoint.wait_for(1)) == 1
    pushed.call("POST", "status_endpoint", {**status, "status": "disabled"})
    assert tell(app, serial="FFFF") == 0  # a disabled stream is not written to
