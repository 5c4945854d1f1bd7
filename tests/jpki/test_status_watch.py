"""The status watcher against the live sandbox: a change at the CA reaches the listener on the next
poll (from the feed and the delta CRL), the cursor is shared, the OCSP answer is dropped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import click
import pytest
from click.testing import CliRunner

from idp.jpki import ocsp_cache
from idp.jpki.cli import STATUS_LISTENER, STATUS_STORE, STATUS_WATCHER, status_poll
from idp.jpki.errors import CertificateOnHold
from idp.jpki.settings import CertificateType, RevocationFeedSettings
from idp.jpki.status import Status
from idp.jpki.status_watch import CURSOR_KEY, LOCK_KEY, StatusPoller, build_watcher
from idp.jpki.transport import HttpTransport
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from tests.jpki.conftest import build_stack
from tests.jpki.test_crl_diff import Recorder

AUTH = CertificateType.AUTH


@pytest.fixture
def watched(state, server, settings, store):
    """A watcher on the sandbox's feed and delta CRLs, the full CRLs loaded, the feed read up to
    now: what a running IdP has done before the change under test."""
    feed = RevocationFeedSettings(url=server.feed_url,
                                  certificate=str(state.feed_certificate_path()))  # fmt: skip
    settings = dataclasses.replace(settings, revocation_feed=feed)
    stack = build_stack(settings, store)
    recorder = Recorder()
    watcher = build_watcher(settings, store, recorder, stack.anchors.roots,
                            transport=HttpTransport(), updater=stack.updater)  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    for kind in CertificateType:
        stack.updater.refresh(kind, now)
    watcher.poll_once(now)
    recorder.batches.clear()
    return watcher, recorder, stack


def _later(seconds: float = 20) -> dt.datetime:
    """The poller's next round (the delta held is then old enough to be fetched again)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def test_a_change_at_the_ca_reaches_the_listener_on_the_next_poll(watched, state):
    watcher, recorder, _ = watched
    assert watcher.settings.status_poll_interval < watcher.settings.status_interval
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    serial = card.serials["auth"]
    state.revoke(card.id, CertKind.AUTH, "keyCompromise")
    outcome = watcher.poll_once(_later(watcher.settings.status_poll_interval))
    assert all(reason is None for reason in outcome.refusals.values())
    assert outcome.changes == sum(len(batch) for batch in recorder.batches) >= 2
    heard = [(c.source, c.status, c.reason) for b in recorder.batches for c in b
             if c.serial == serial]  # fmt: skip
    assert ("feed", Status.REVOKED, "keyCompromise") in heard
    assert ("delta-crl", Status.REVOKED, "keyCompromise") in heard


def test_hold_and_release_are_heard_in_order(watched, state):
    watcher, recorder, _ = watched
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    state.hold(card.id, CertKind.SIGN)
    state.release(card.id, CertKind.SIGN)
    watcher.poll_once(_later())
    feed = [c for b in recorder.batches for c in b if c.source == "feed"]
    assert [(c.kind, c.status, c.reason) for c in feed] == [
        (CertificateType.SIGN, Status.ON_HOLD, "certificateHold"),
        (CertificateType.SIGN, Status.RELEASED, "removeFromCRL"),
    ]


def test_the_cursor_is_shared_and_a_page_is_handed_on_once(watched, state, store):
    watcher, recorder, _ = watched
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    state.revoke(card.id, CertKind.AUTH, "superseded")
    watcher.poll_once(_later())
    cursor = store.get(CURSOR_KEY)
    assert cursor is not None
    recorder.batches.clear()
    watcher.poll_once(_later())  # another node would read the same cursor from the store
    assert [c for b in recorder.batches for c in b if c.source == "feed"] == []
    assert store.get(CURSOR_KEY) == cursor


def test_a_node_holding_the_lock_keeps_the_others_off_the_feed(watched, state, store):
    watcher, recorder, _ = watched
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    state.revoke(card.id, CertKind.AUTH, "cessationOfOperation")
    store.add(LOCK_KEY, b"1", 60)
    outcome = watcher.poll_once(_later())
    assert outcome.pages == 0
    assert [c for b in recorder.batches for c in b if c.source == "feed"] == []
    store.delete(LOCK_KEY)
    assert watcher.poll_once(_later()).pages == 1


def test_a_refused_page_keeps_the_cursor_and_says_why(watched, state, store, foreign_ca):
    watcher, _, _ = watched
    cursor = store.get(CURSOR_KEY)
    state.revoke(state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123").id, CertKind.AUTH,
                 "keyCompromise")  # fmt: skip
    watcher.feed.signers = {"someone-else": foreign_ca.certificate}
    outcome = watcher.poll_once(_later())
    assert outcome.refusals["feed"] == "feed_refused"
    assert store.get(CURSOR_KEY) == cursor
    assert store.get(LOCK_KEY) is None


def test_a_feed_that_is_down_keeps_the_cursor(watched, server, store):
    watcher, _, _ = watched
    cursor = store.get(CURSOR_KEY)
    with server.refusing():
        outcome = watcher.poll_once(_later())
    assert outcome.refusals["feed"] == "responder_unavailable"
    assert outcome.refusals["delta-crl:auth"] == "responder_unavailable"
    assert store.get(CURSOR_KEY) == cursor


def test_a_failing_listener_keeps_the_page_for_the_next_round(watched, state, store):
    watcher, recorder, _ = watched
    cursor = store.get(CURSOR_KEY)

    class Broken:
        def changed(self, changes):
            raise RuntimeError(f"down, {len(changes)} changes not taken")

    watcher.listener = Broken()
    state.revoke(state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123").id, CertKind.AUTH,
                 "keyCompromise")  # fmt: skip
    with pytest.raises(RuntimeError):
        watcher.poll_once(_later())
    assert store.get(CURSOR_KEY) == cursor
    watcher.listener = recorder
    watcher.poll_once(_later())
    assert any(c.source == "feed" for b in recorder.batches for c in b)


def test_a_change_drops_the_cached_ocsp_answer(watched, state, store):
    watcher, _, stack = watched
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    certificate = state.certificate(card.id, CertKind.AUTH)
    issuer = stack.anchors.roots[AUTH][0]
    now = dt.datetime.now(dt.UTC)
    stack.ocsp.check(certificate, issuer, AUTH, now)
    key = ocsp_cache.cache_key(issuer, certificate.serial_number)
    assert store.get(key) is not None  # the good answer is cached, as a login leaves it
    state.hold(card.id, CertKind.AUTH)
    watcher.poll_once(_later())
    assert store.get(key) is None
    with pytest.raises(CertificateOnHold):
        stack.ocsp.check(certificate, issuer, AUTH, now)


def test_the_poller_thread_polls_and_stops(watched, state):
    watcher, recorder, _ = watched
    state.revoke(state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123").id, CertKind.AUTH,
                 "keyCompromise")  # fmt: skip
    poller = StatusPoller(watcher, clock=_later)
    poller.start()
    poller.start()  # again: no second thread
    try:
        for _ in range(200):
            if recorder.batches:
                break
            poller._stop.wait(0.05)
    finally:
        poller.stop()
    assert recorder.batches
    assert not poller._thread.is_alive()


def test_status_poll_command_tells_the_lent_listener(watched, state, store):
    watcher, _, _ = watched
    recorder = Recorder()

    @click.group()
    @click.pass_context
    def idp(ctx):
        ctx.obj = watcher.settings
        ctx.meta[STATUS_LISTENER], ctx.meta[STATUS_STORE] = recorder, store

    idp.add_command(status_poll)
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    state.revoke(card.id, CertKind.AUTH, "keyCompromise")
    result = CliRunner().invoke(idp, ["status-poll"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output)
    assert line["refused"] == {}
    assert line["pages"] == 1
    assert card.serials["auth"] in {c.serial for b in recorder.batches for c in b}


def test_status_poll_without_a_watcher_says_what_to_configure():
    result = CliRunner().invoke(status_poll, [])
    assert result.exit_code == 1
    assert "revocation_feed" in result.output


def test_nothing_configured_builds_no_watcher(settings, store):
    bare = dataclasses.replace(settings, crl_urls={}, delta_crl_urls={})
    assert build_watcher(bare, store, Recorder(), {}, transport=HttpTransport()) is None


def test_status_poll_without_the_idps_listener_refuses_to_move_the_cursor(watched):
    watcher, _, _ = watched
    result = CliRunner().invoke(status_poll, [], obj=watcher.settings)
    assert result.exit_code == 1
    assert "no status listener" in result.output


def test_status_poll_uses_the_watcher_the_idp_lends(watched, state):
    watcher, recorder, _ = watched

    @click.group()
    @click.pass_context
    def idp(ctx):
        ctx.meta[STATUS_WATCHER] = watcher

    idp.add_command(status_poll)
    card = state.issue_card(SAMPLE_CITIZENS[2], "1234", "ABC123")
    state.hold(card.id, CertKind.AUTH)
    result = CliRunner().invoke(idp, ["status-poll"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["refused"] == {}
    assert card.serials["auth"] in {c.serial for b in recorder.batches for c in b}


def test_an_unreadable_feed_certificate_leaves_the_feed_out(settings, store, tmp_path, caplog):
    feed = RevocationFeedSettings(url="http://feed.example/feed",
                                  certificate=str(tmp_path / "none.pem"))  # fmt: skip
    configured = dataclasses.replace(settings, revocation_feed=feed)
    with caplog.at_level("ERROR"):
        watcher = build_watcher(configured, store, Recorder(), {}, transport=HttpTransport())
    assert watcher is not None  # the delta CRLs are still watched
    assert watcher.feed is None
    assert "revocation feed is not read" in caplog.text
