"""Login benchmark: ``python -m bench.flow [--seconds 30] [--concurrency N]``.

Drives complete card logins (PAR → login page with its challenge → card signature →
verification with an OCSP cache hit → remembered consent → code → token with private_key_jwt
and DPoP → userinfo; ``bench/flow_client.py``) against an IdP served by gunicorn
(``idp.wsgi:app``), and prints one final JSON line: ``flows_per_s``, ``p50_ms``/``p99_ms``
(a whole login, as the client saw it),
``server_p50_ms``/``server_p99_ms`` (one request inside gunicorn, from its access log),
``server_cpu_ms_per_flow`` (the workers' user+system CPU over the run / logins), ``errors``,
``workers``, ``store`` …

By default it builds its own world (``bench/flow_world.py``: sandbox cards and OCSP responder,
a fresh database, the client, accounts with remembered consents), starts gunicorn pinned to CPU 0
(``taskset``) and pins itself to CPU 1, warms up (one login per card: the OCSP answers are then
cached), measures, and tears everything down. ``--store sqlite`` is SQLite + the in-process
store (one worker only: the IdP refuses more), ``--store postgresql`` is PostgreSQL + Redis.
``--rate`` paces logins (flows/s, open loop per browser) to measure latency below saturation.
``--profile DIR`` runs the workers under cProfile (slower; use for where the time goes, not for
throughput). ``--record`` appends the JSON line to bench/results/flow.jsonl.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
IDP_CONF = Path(__file__).resolve().parents[1] / "idp" / "gunicorn_conf.py"
SERVER_CPU, CLIENT_CPU = 0, 1


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class Gunicorn:
    """``gunicorn idp.wsgi:app`` (or ``app``) on the world's port, pinned to one core."""

    def __init__(
        self,
        world,
        workers: int,
        worker_class: str,
        threads: int,
        profile: Path | None,
        app: str = "idp.wsgi:app",
    ):
        self.log = world.work / "access.log"
        conf = Path(__file__).with_name("flow_profile_conf.py") if profile else IDP_CONF
        command = [GUNICORN, "-c", str(conf), "--bind", f"127.0.0.1:{world.port}"]
        command += ["--workers", str(workers), "--worker-class", worker_class]
        command += ["--threads", str(threads), "--access-logfile", str(self.log)]
        command += ["--error-logfile", str(world.work / "error.log"), "--log-level", "warning"]
        command += ["--access-logformat", "%(D)s %(s)s %(m)s %(U)s", app]
        env = dict(world.env)
        if profile is not None:
            env["BENCH_PROFILE_DIR"] = str(profile)
        if shutil.which("taskset"):
            command = ["taskset", "-c", str(SERVER_CPU), *command]  # taskset execs gunicorn
        self.process = subprocess.Popen(command, env=env, cwd=world.work)  # noqa: S603 - ours
        self.workers = workers

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                errors = self.log.with_name("error.log")
                tail = errors.read_text()[-2000:] if errors.exists() else ""
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}\n{tail}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
                conn.request("GET", "/jwks")
                if conn.getresponse().status == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError("gunicorn did not start serving")

    def worker_pids(self) -> list[int]:
        root = self.process.pid
        children = Path(f"/proc/{root}/task/{root}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def cpu_seconds(self) -> float:
        """User + system CPU of the workers so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _server_latencies(log: Path, since: float) -> list[float]:
    """Request durations (seconds) from the access log lines written after ``since`` (offset)."""
    values = []
    with log.open("rb") as f:
        f.seek(int(since))
        for line in f:
            with contextlib.suppress(ValueError, IndexError):
                values.append(int(line.split(b" ", 1)[0]) / 1e6)
    return values


def drive(world, args, signers, mark, **options) -> dict:
    """Warm up, call ``mark`` (the server's counters start), then run ``args.concurrency``
    browsers for ``args.seconds``; the timings. ``options`` go to every ``Browser``."""
    from bench.flow_client import Browser

    browsers = [
        Browser(
            world.issuer,
            world.client_id,
            world.client_key,
            world.client_kid,
            signers[i % len(signers)],
            ask_challenge=args.challenge == "request",
            **options,
        )
        for i in range(args.concurrency)
    ]
    _warm_up(world, signers, browsers, **options)
    mark()
    stop_at = time.monotonic() + args.seconds
    interval = args.concurrency / args.rate if args.rate else 0.0
    threads = [
        threading.Thread(
            target=_run, args=(b, i * interval / max(1, args.concurrency), stop_at, interval)
        )
        for i, b in enumerate(browsers)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _summary(browsers, time.monotonic() - started)


def _warm_up(world, signers, browsers, **options) -> None:
    """One login per card (accounts touched, OCSP answers cached) and one per browser (each
    learns the DPoP nonce), none of them measured: the run times the steady state."""
    from bench.flow_client import Browser

    for signer in signers:
        warm = Browser(
            world.issuer, world.client_id, world.client_key, world.client_kid, signer, **options
        )
        warm.login()
    for browser in browsers:
        browser.login()
        browser.timings.requests.clear()
        browser.timings.steps.clear()


def _run(browser, offset: float, stop_at: float, interval: float) -> None:
    """One browser's logins until ``stop_at``: back to back, or paced to one start every
    ``interval`` seconds (``--rate``), catching up after a slow one; errors counted by kind."""
    from bench.flow_client import FlowError

    next_start = time.monotonic() + offset
    while time.monotonic() < stop_at:
        if interval:
            delay = next_start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_start += interval
            if time.monotonic() >= stop_at:
                return
        started = time.perf_counter()
        try:
            browser.login()
        except (FlowError, OSError, ValueError, KeyError) as e:
            browser.timings.errors += 1
            kind = str(e).split(":")[0][:40] or type(e).__name__
            browser.timings.error_kinds[kind] = browser.timings.error_kinds.get(kind, 0) + 1
            continue
        browser.timings.flows.append(time.perf_counter() - started)


def _summary(browsers, elapsed: float) -> dict:
    """Every browser's timings together: flows, requests, errors by kind, steps' medians."""
    kinds: dict[str, int] = {}
    steps: dict[str, list[float]] = {}
    for b in browsers:
        for k, v in b.timings.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
        for name, values in b.timings.steps.items():
            steps.setdefault(name, []).extend(values)
    return {
        "steps_p50_ms": {k: _ms(percentile(v, 0.5)) for k, v in steps.items()},
        "elapsed": elapsed,
        "flows": [f for b in browsers for f in b.timings.flows],
        "requests": [r for b in browsers for r in b.timings.requests],
        "errors": sum(b.timings.errors for b in browsers),
        "error_kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.flow", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=8, help="browsers at once")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="sqlite: SQLite + in-process store; postgresql: PostgreSQL + Redis",
    )
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--rate", type=float, default=0, help="target logins/s (0: as fast as possible)"
    )
    parser.add_argument("--cards", type=int, default=8, help="citizens (cards, accounts)")
    parser.add_argument(
        "--card",
        choices=("openssl", "apdu"),
        default="openssl",
        help="sign in the loop with OpenSSL (checked equal to the virtual card) "
        "or through the virtual card's APDUs every time",
    )
    parser.add_argument(
        "--challenge",
        choices=("page", "request"),
        default="page",
        help="take the login's challenge from the page, as its script does, or ask for it "
        "with a request of its own every time (the flow before the page carried it)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="measure the workers into this folder (BENCH_PROFILE_MODE: cpu, sample, cprofile)",
    )
    parser.add_argument("--record", action="store_true", help="append to bench/results/flow.jsonl")
    parser.add_argument("--label", default="", help="free text kept in the JSON line")
    args = parser.parse_args(argv)
    if args.store == "sqlite" and args.workers > 1:
        refusal = {
            "refused": True,
            "workers": args.workers,
            "store": "sqlite+memory",
            "reason": "the in-process store cannot be shared between processes: "
            "the IdP refuses processes > 1 without Redis (idp/config/problems.py)",
            "label": args.label,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        if args.record:
            _record(refusal)
        print(json.dumps(refusal))
        return 2

    from bench.flow_client import CardSigner
    from bench.flow_world import World
    from sandbox.server import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-flow-"))
    world = World.build(
        work, database=args.store, workers=args.workers, cards=args.cards, port=free_port()
    )
    server = None
    try:
        signers = [CardSigner(card, world.state, apdu=args.card == "apdu") for card in world.cards]
        for signer in signers:
            signer.check()
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        server = Gunicorn(world, args.workers, args.worker_class, args.threads, args.profile)
        server.wait_ready(world.issuer)
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {CLIENT_CPU})
        log_offset = 0.0
        cpu_before = 0.0

        def mark() -> None:
            nonlocal log_offset, cpu_before
            log_offset = server.log.stat().st_size if server.log.exists() else 0
            cpu_before = server.cpu_seconds()
            if args.profile:
                for pid in server.worker_pids():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGUSR2)  # the measurements start now

        result = drive(world, args, signers, mark)
        cpu_used = server.cpu_seconds() - cpu_before
        server_latencies = _server_latencies(server.log, log_offset)
    finally:
        if server is not None:
            server.stop()
        world.close()
        shutil.rmtree(work, ignore_errors=True)
    flows = result["flows"]
    line = {
        "flows_per_s": round(len(flows) / result["elapsed"], 1),
        "p50_ms": _ms(percentile(flows, 0.50)),
        "p99_ms": _ms(percentile(flows, 0.99)),
        "server_p50_ms": _ms(percentile(server_latencies, 0.50)),
        "server_p99_ms": _ms(percentile(server_latencies, 0.99)),
        "request_p99_ms": _ms(percentile(result["requests"], 0.99)),
        "server_cpu_ms_per_flow": round(cpu_used * 1000 / max(1, len(flows)), 2),
        "steps_p50_ms": result["steps_p50_ms"],
        "errors": result["errors"],
        "error_kinds": result["error_kinds"],
        "flows": len(flows),
        "workers": args.workers,
        "worker_class": args.worker_class + (f"x{args.threads}" if args.threads > 1 else ""),
        "store": "sqlite+memory" if args.store == "sqlite" else "postgresql+redis",
        "concurrency": args.concurrency,
        "rate": args.rate or None,
        "seconds": args.seconds,
        "card": args.card,
        "challenge": args.challenge,
        "profiled": bool(args.profile),
        "label": args.label,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    if args.record:
        _record(line)
    print(json.dumps(line))
    return 0


def _record(line: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "flow.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    sys.exit(main())
