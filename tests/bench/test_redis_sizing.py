"""The Redis sizing benchmark: its arithmetic, and a short run end to end on a Redis of its own.

No sizing is asserted (benchmarks measure, tests check): the run must complete its logins and
find the keys every login leaves, with their TTLs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.redis_sizing import RATE, kind_of, sizing


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("used-code:3f9a0c", "used-code:*"),
        ("session:Zk3-9aQ", "session:*"),
        ("jpki:ocsp:3f2a:1a", "jpki:ocsp:*"),
        ("limit/challenges_per_login/q8Zx-Pt/20/10/minute", "limit/challenges_per_login/*"),
        ("Qx9:anything", "*"),
    ],
)
def test_a_key_is_named_by_its_kind_up_to_its_first_identifier(key, kind):
    assert kind_of(key) == kind


def test_steady_state_is_rate_times_bytes_times_ttl_and_fixed_kinds_count_once():
    kinds = {
        "session:*": {"keys": 10, "bytes": 3000, "ttl_s_max": 1800.0},
        "grant:*": {"keys": 10, "bytes": 5000, "ttl_s_max": 300.0},
        "limit/par_per_client/*": {"keys": 1, "bytes": 136, "ttl_s_max": 60.0},
    }
    got = sizing(kinds, logins=10)
    assert got["keys_per_login"] == 2
    assert got["bytes_per_login"] == 800
    assert got["steady_keys"] == RATE * (1800 + 300)
    expected = RATE * (300 * 1800 + 500 * 300) + 136
    assert got["steady_mib"] == round(expected / 2**20, 1)
    assert got["fixed_kinds"] == ["limit/par_per_client/*"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_run_measures_what_logins_leave():
    done = subprocess.run(
        [sys.executable, "-m", "bench.redis_sizing", "--logins", "3", "--abandoned", "2"],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = json.loads(done.stdout.splitlines()[-1])
    assert line["logins"] == 3
    assert {"session:*", "grant:*", "used-code:*"} <= set(line["login_kinds"])
    assert all(v["ttl_s_max"] > 0 for v in line["login_kinds"].values())  # nothing lives forever
    assert "login:*" in line["abandoned_kinds"]
    assert line["login"]["steady_mib"] > 0


def test_bad_arguments_are_refused():
    done = subprocess.run(
        [sys.executable, "-m", "bench.redis_sizing", "--logins", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--logins must be at least 2" in done.stderr
