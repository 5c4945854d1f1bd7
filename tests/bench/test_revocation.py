"""A small run of ``bench.revocation`` end to end: two IdP nodes, three cards revoked as lost,
renewed and suspended at the sandbox, the hold then released.

No timing is asserted (benchmarks measure, tests check), only what must happen, with the
benchmark's own deadline of status_interval plus a minute: every effect is seen for every
card (login refused, session dead, refresh refused at node 2, access token refused at node 1,
the first SET pushed and polled), no login is wrongly accepted, and the release restores the
login and nothing the hold ended.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_change_reaches_every_place_and_no_login_is_wrongly_accepted():
    done = subprocess.run(
        [sys.executable, "-m", "bench.revocation", "--cards", "3", "--poll-interval", "5"],
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = json.loads(done.stdout.splitlines()[-1])
    assert line["logins_wrongly_accepted"] == 0
    assert line["missing"] == 0, line
    assert line["release_restored_nothing_ended"] is True
    events = line["events"]
    assert set(events) == {"keyCompromise", "superseded", "certificateHold", "removeFromCRL"}
    for kind, row in events.items():
        assert row["set_delivered_push"]["n"] == row["cards"] == 1, kind
        assert row["set_available_poll"]["n"] == 1, kind
    for kind in ("keyCompromise", "superseded", "certificateHold"):
        for effect in ("login_refused", "session_dead", "refresh_refused", "access_refused"):
            assert events[kind][effect]["n"] == 1, (kind, effect)
    assert events["removeFromCRL"]["login_restored"]["n"] == 1
