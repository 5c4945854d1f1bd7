"""A slow OCSP responder against an IdP served by gunicorn gthread, as in production: a short run
of ``bench.slow_responder`` end to end.

No latency target is asserted (benchmarks measure, tests check), only what the IdP must do,
with wide margins: while every card check meets a responder slower than ``ocsp_timeout``, the
IdP keeps answering ``/jwks`` without waiting for it and keeps refusing logins at their pace,
and the responder is not asked once per login (failures remembered, breaker open). Before, one
``/jwks`` waited up to 6 s, 20 were answered in 30 s, and every login asked the responder.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_slow_responder_stalls_neither_jwks_nor_the_logins():
    done = subprocess.run(
        [sys.executable, "-m", "bench.slow_responder", "--seconds", "10", "--concurrency", "4",
         "--rate", "4", "--delay", "5"],
        capture_output=True,
        text=True,
        timeout=540,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    line = json.loads(done.stdout.splitlines()[-1])
    assert line["jwks_samples"] >= 100  # a probe every 20 ms for 10 s: 500 if nothing waits
    assert line["jwks_p99_ms"] < 3000  # /jwks does not wait for the responder's timeout
    assert line["logins"] >= 20  # 4 a second for 10 s; held by the responder: 4 in all
    assert line["ocsp_requests"] <= line["logins"] / 2
