"""A slow OCSP responder against a serving IdP: ``python -m bench.slow_responder``.

Builds the login benchmark's world (``bench/flow_world.py``: sandbox cards and responder,
PostgreSQL + Redis, one client), serves the IdP with gunicorn gthread (one worker, four threads,
as production's ``idp/gunicorn_conf.py``), tells the sandbox's OCSP responder to answer after
``--delay`` seconds (longer than ``ocsp_timeout``, 3 s), then for ``--seconds`` runs
``--concurrency`` browsers doing card logins (``--rate`` per second at most, below what the
worker can do, so that what is measured is waiting, not a saturated CPU) while one prober GETs
``/jwks`` every 20 ms. Every login asks OCSP (nothing can be cached: no answer arrives in
time) and is refused, since the revocation policy is ``ocsp`` alone; what is measured is what
else the IdP still does meanwhile. Prints one JSON line: ``jwks_p50_ms``/``jwks_p99_ms``/
``jwks_max_ms`` over ``jwks_samples``, ``logins_per_s`` (attempts ended, refused or not),
``login_p50_ms``, ``ocsp_requests`` (what the responder received) and ``ocsp_requests_per_login``.
``--record`` appends it to ``bench/results/slow_responder.jsonl``.

``--label before`` is meant for a run of the IdP as it was before failures were remembered and
concurrency per responder bounded (the same benchmark, with an older ``idp`` package first on
``PYTHONPATH``); the new settings are left at their defaults either way.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.flow import RESULTS, Gunicorn, _ms, percentile

PROBE_EVERY = 0.02


def _sandbox(state, path: str, body: dict | None = None, method: str = "GET") -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback
        state.endpoints.base_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else {}


def _ocsp_requests(state) -> int:
    counts = _sandbox(state, "/_sandbox/requests")
    return sum(v for k, v in _flatten(counts) if "ocsp" in k)


def _flatten(value, prefix: str = ""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}{key}.")
    elif isinstance(value, int | float):
        yield prefix, value


def _probe(issuer: str, stop: threading.Event, samples: list[float]) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(issuer)
    while not stop.is_set():
        started = time.perf_counter()
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request("GET", "/jwks")
            if conn.getresponse().status == 200:
                samples.append(time.perf_counter() - started)
            conn.close()
        stop.wait(PROBE_EVERY)


def _logins(browser, stop: threading.Event, ended: list[float], interval: float) -> None:
    """Logins one after another, starting at most one every ``interval`` seconds."""
    from bench.flow_client import FlowError

    while not stop.is_set():
        started = time.perf_counter()
        with contextlib.suppress(FlowError, OSError, ValueError, KeyError):
            browser.login()
        ended.append(time.perf_counter() - started)
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))


def _configure(config: Path, settings: list[str]) -> None:
    """Add ``KEY=VALUE`` settings to the world's ``[jpki]`` block (before its tables)."""
    lines = "".join(f"{item.split('=', 1)[0]} = {item.split('=', 1)[1]}\n" for item in settings)
    text = config.read_text()
    config.write_text(text.replace("[jpki]\n", "[jpki]\n" + lines, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slow_responder", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=8, help="browsers logging in at once")
    parser.add_argument("--delay", type=float, default=5.0, help="the responder's delay (s)")
    parser.add_argument(
        "--rate", type=float, default=8, help="logins/s started at most, all browsers together"
    )
    parser.add_argument(
        "--jpki",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [jpki] setting for the IdP (e.g. ocsp_breaker_failures=1000000 to measure the "
        "bounded concurrency alone)",
    )
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)

    from bench.flow_client import Browser, CardSigner
    from bench.flow_world import World
    from sandbox.server import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-slow-responder-"))
    world = World.build(
        work, database="postgresql", workers=1, cards=args.concurrency, port=free_port()
    )
    server = None
    stop = threading.Event()
    samples: list[float] = []
    ended: list[float] = []
    try:
        signers = [CardSigner(card, world.state) for card in world.cards]
        _configure(world.work / "idp.toml", args.jpki)
        server = Gunicorn(world, 1, "gthread", 4, None)
        server.wait_ready(world.issuer)
        browsers = [
            Browser(world.issuer, world.client_id, world.client_key, world.client_kid, signer)
            for signer in signers
        ]
        _sandbox(world.state, "/_sandbox/behaviour", {"ocsp": "slow", "delay": args.delay}, "POST")
        _sandbox(world.state, "/_sandbox/requests", method="DELETE")
        threads = [threading.Thread(target=_probe, args=(world.issuer, stop, samples))]
        interval = args.concurrency / args.rate if args.rate else 0.0
        threads += [
            threading.Thread(target=_logins, args=(b, stop, ended, interval)) for b in browsers
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - started
        asked = _ocsp_requests(world.state)
    finally:
        if server is not None:
            server.stop()
        world.close()
        shutil.rmtree(work, ignore_errors=True)
    line = {
        "jwks_p50_ms": _ms(percentile(samples, 0.50)),
        "jwks_p99_ms": _ms(percentile(samples, 0.99)),
        "jwks_max_ms": _ms(max(samples)) if samples else None,
        "jwks_samples": len(samples),
        "logins_per_s": round(len(ended) / elapsed, 2),
        "login_p50_ms": _ms(percentile(ended, 0.50)),
        "logins": len(ended),
        "ocsp_requests": asked,
        "ocsp_requests_per_login": round(asked / max(1, len(ended)), 2),
        "responder_delay_s": args.delay,
        "ocsp_timeout_s": 3.0,
        "concurrency": args.concurrency,
        "rate": args.rate or None,
        "worker_class": "gthreadx4",
        "seconds": args.seconds,
        "jpki": args.jpki,
        "label": args.label,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    if args.record:
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "slow_responder.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
