"""Status changes from new CRLs: each new entry against the indexes already held, per reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.x509 import ReasonFlags as R

from idp.jpki.crl_updater import CrlUpdater
from idp.jpki.errors import CrlRejected
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, issuer_hash_of
from sandbox.crl import CrlEntry, make_crl
from tests.jpki.conftest import make_settings
from tests.jpki.test_crl import Served

AUTH = CertificateType.AUTH
FULL, DELTA = "http://crl/auth.crl", "http://crl/auth-delta.crl"


class Recorder:
    """A listener that keeps every batch."""

    def __init__(self) -> None:
        self.batches: list[list] = []

    def changed(self, changes) -> None:
        self.batches.append(list(changes))

    def seen(self) -> dict[str, tuple]:
        """Serial -> (status, reason, source) of the last change heard, all batches together."""
        return {c.serial: (c.status, c.reason, c.source) for b in self.batches for c in b}


@pytest.fixture
def world(state, server, tmp_path, auth_ca):
    settings = make_settings(state, server, tmp_path, crl_urls={AUTH: FULL},
                             delta_crl_urls={AUTH: DELTA})  # fmt: skip
    transport = Served()
    updater = CrlUpdater(settings, {AUTH: (auth_ca.certificate,)}, transport)
    updater.status_listener = recorder = Recorder()
    return transport, updater, recorder


def _at(now: dt.datetime, hours: int = 1) -> dt.datetime:
    return (now - dt.timedelta(hours=hours)).replace(microsecond=0)


def _full(transport, ca, entries, number, now):
    transport.files[FULL] = make_crl(ca, entries, now=now, number=number)


def _delta(transport, ca, entries, number, base, now):
    transport.files[DELTA] = make_crl(ca, entries, now=now, number=number, delta_base=base)


def test_the_first_crl_ever_gives_no_changes(world, auth_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [CrlEntry(0x11, _at(now), R.key_compromise)], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    assert recorder.batches == []


def test_each_reason_of_a_new_full_crl_is_its_own_change(world, auth_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [CrlEntry(0x10, _at(now, 48), R.key_compromise)], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    reasons = {
        0x11: R.key_compromise, 0x12: R.certificate_hold, 0x13: R.affiliation_changed,
        0x14: R.superseded, 0x15: R.cessation_of_operation,
    }  # fmt: skip
    entries = [CrlEntry(0x10, _at(now, 48), R.key_compromise)]
    entries += [CrlEntry(serial, _at(now), reason) for serial, reason in reasons.items()]
    entries.append(CrlEntry(0x16, _at(now), None))
    _full(transport, auth_ca, entries, 3, now)
    _delta(transport, auth_ca, [], 4, 3, now)
    updater.refresh(AUTH, now)
    assert recorder.seen() == {
        "11": (Status.REVOKED, "keyCompromise", "crl"),
        "12": (Status.ON_HOLD, "certificateHold", "crl"),
        "13": (Status.REVOKED, "affiliationChanged", "crl"),
        "14": (Status.REVOKED, "superseded", "crl"),
        "15": (Status.REVOKED, "cessationOfOperation", "crl"),
        "16": (Status.REVOKED, "unspecified", "crl"),
    }  # 0x10 was listed before: not a change
    change = recorder.batches[0][0]
    assert change.issuer_hash == issuer_hash_of(auth_ca.certificate.subject)
    assert change.kind is AUTH
    assert change.changed_at == _at(now)


def test_delta_crls_bring_holds_revocations_and_releases(world, auth_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [CrlEntry(0x21, _at(now, 5), R.certificate_hold)], 10, now)
    _delta(transport, auth_ca, [], 11, 10, now)
    updater.refresh(AUTH, now)
    hold_at = _at(now)
    released = CrlEntry(0x21, _at(now, 5), R.remove_from_crl)
    entries = [CrlEntry(0x22, hold_at, R.certificate_hold),
               CrlEntry(0x23, hold_at, R.key_compromise), released]  # fmt: skip
    _delta(transport, auth_ca, entries, 12, 10, now)
    assert updater.refresh_delta(AUTH, now)
    assert recorder.seen() == {
        "22": (Status.ON_HOLD, "certificateHold", "delta-crl"),
        "23": (Status.REVOKED, "keyCompromise", "delta-crl"),
        "21": (Status.RELEASED, "removeFromCRL", "delta-crl"),
    }
    recorder.batches.clear()
    entries = [CrlEntry(0x22, hold_at, R.key_compromise),
               CrlEntry(0x23, hold_at, R.key_compromise), released]  # fmt: skip
    _delta(transport, auth_ca, entries, 13, 10, now)
    updater.refresh_delta(AUTH, now)
    assert recorder.seen() == {"22": (Status.REVOKED, "keyCompromise", "delta-crl")}


def test_a_hold_gone_from_the_full_crl_is_released_and_an_expired_revocation_is_nothing(
    world, auth_ca, now
):
    transport, updater, recorder = world
    listed = [CrlEntry(0x31, _at(now), R.certificate_hold), CrlEntry(0x32, _at(now), None)]
    _full(transport, auth_ca, listed, 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    _full(transport, auth_ca, [], 3, now)
    _delta(transport, auth_ca, [], 4, 3, now)
    updater.refresh(AUTH, now)
    assert recorder.seen() == {"31": (Status.RELEASED, None, "crl")}


def test_the_same_crl_again_and_a_repeated_delta_give_nothing(world, auth_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    _delta(transport, auth_ca, [CrlEntry(0x41, _at(now), R.key_compromise)], 3, 1, now)
    updater.refresh_delta(AUTH, now)
    assert len(recorder.batches) == 1
    updater.refresh_delta(AUTH, now)
    updater.refresh(AUTH, now)  # full CRL 1 again, delta 3 again
    assert len(recorder.batches) == 1


def test_a_young_delta_is_not_fetched_again_by_another_poll(world, auth_ca, now):
    transport, updater, _ = world
    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    assert not updater.refresh_delta(AUTH, dt.datetime.now(dt.UTC), min_age=60)
    assert updater.refresh_delta(AUTH, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61),
                                 min_age=60)  # fmt: skip


def test_no_delta_before_a_full_crl_is_held(world, auth_ca, now):
    transport, updater, _ = world
    _delta(transport, auth_ca, [CrlEntry(0x51, _at(now), R.key_compromise)], 2, 1, now)
    assert not updater.refresh_delta(AUTH, now)
    assert updater.source(AUTH).held_numbers() == (None, None)


def test_a_delta_on_a_newer_base_fetches_the_full_crl_and_reports_its_changes(world, auth_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    later = now + dt.timedelta(minutes=5)  # the full CRL held is older than the retry interval
    _full(transport, auth_ca, [CrlEntry(0x61, _at(now), R.superseded)], 5, later)
    _delta(transport, auth_ca, [], 6, 5, later)
    assert updater.refresh_delta(AUTH, later)
    assert updater.source(AUTH).held_numbers() == (5, 6)
    assert recorder.seen() == {"61": (Status.REVOKED, "superseded", "crl")}


def test_a_forged_delta_changes_nothing(world, auth_ca, foreign_ca, now):
    transport, updater, recorder = world
    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    entries = [CrlEntry(0x71, _at(now), R.key_compromise)]
    transport.files[DELTA] = make_crl(
        auth_ca, entries, now=now, number=3, delta_base=1, signer=foreign_ca.root
    )
    with pytest.raises(CrlRejected):
        updater.refresh_delta(AUTH, now)
    assert recorder.batches == []


def test_a_failing_listener_leaves_the_new_crl_in_place(world, auth_ca, now):
    transport, updater, _ = world

    class Broken:
        def changed(self, changes):
            raise RuntimeError(f"listener down, {len(changes)} changes lost")

    updater.status_listener = Broken()
    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    _delta(transport, auth_ca, [CrlEntry(0x81, _at(now), R.key_compromise)], 3, 1, now)
    assert updater.refresh_delta(AUTH, now)
    assert updater.source(AUTH).held_numbers() == (1, 3)


def test_changes_a_failing_listener_could_not_take_are_handed_on_when_it_can(world, auth_ca, now):
    """The new index is in place, so the comparison cannot be made again: the changes are kept
    beside the indexes and come first in the next round's batch, once, in their order."""
    transport, updater, recorder = world

    class Broken:
        def changed(self, changes):
            raise RuntimeError(f"database down, {len(changes)} changes not taken")

    _full(transport, auth_ca, [], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    updater.status_listener = Broken()
    _delta(transport, auth_ca, [CrlEntry(0x81, _at(now), R.key_compromise)], 3, 1, now)
    assert updater.refresh_delta(AUTH, now)
    held = [
        CrlEntry(0x81, _at(now), R.key_compromise),
        CrlEntry(0x82, _at(now), R.certificate_hold),
    ]
    _delta(transport, auth_ca, held, 4, 1, now)
    assert updater.refresh_delta(AUTH, now)  # still down: the hold joins the kept revocation
    assert recorder.batches == []

    updater.status_listener = recorder
    updater.retry_pending(AUTH)
    assert [(c.serial, c.status, c.reason) for b in recorder.batches for c in b] == [
        ("81", Status.REVOKED, "keyCompromise"),
        ("82", Status.ON_HOLD, "certificateHold"),
    ]
    updater.retry_pending(AUTH)
    updater.refresh_due(now)
    assert len(recorder.batches) == 1  # handed once


def test_a_damaged_pending_line_is_skipped_and_the_rest_handed_on(world, now):
    from idp.jpki import status_pending

    _, updater, recorder = world
    path = status_pending.pending_path(updater.folder, AUTH)
    good = {"issuer_hash": "ab", "serial": "91", "kind": "auth", "status": "revoked",
            "reason": "keyCompromise", "changed_at": now.isoformat(),
            "source": "delta-crl"}  # fmt: skip
    path.write_text("{not json\n" + json.dumps({**good, "changed_at": "2026-01-01T00:00:00"})
                    + "\n" + json.dumps(good) + "\n")  # fmt: skip
    updater.retry_pending(AUTH)
    assert [c.serial for b in recorder.batches for c in b] == ["91"]
    assert not path.exists()


def test_a_large_full_crl_gives_only_what_changed(world, auth_ca, now):
    """Thousands of unchanged entries in tables of other sizes: only the new, changed and
    released ones come out."""
    transport, updater, recorder = world
    listed = [CrlEntry(0x100000 + n, _at(now, 24), R.key_compromise) for n in range(3000)]
    held = CrlEntry(0x200001, _at(now, 24), R.certificate_hold)
    _full(transport, auth_ca, [*listed, held], 1, now)
    _delta(transport, auth_ca, [], 2, 1, now)
    updater.refresh(AUTH, now)
    renewed = CrlEntry(0x100007, _at(now, 24), R.superseded)  # the same serial, another reason
    added = [CrlEntry(0x300000 + n, _at(now), R.affiliation_changed) for n in range(400)]
    entries = [e for e in listed if e.serial != renewed.serial] + [renewed, *added]
    _full(transport, auth_ca, entries, 3, now)
    _delta(transport, auth_ca, [], 4, 3, now)
    updater.refresh(AUTH, now)
    seen = recorder.seen()
    assert len(seen) == 402
    assert seen["100007"] == (Status.REVOKED, "superseded", "crl")
    assert seen["200001"] == (Status.RELEASED, None, "crl")
    assert all(seen[f"{0x300000 + n:X}"][1] == "affiliationChanged" for n in range(400))
