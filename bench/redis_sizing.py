"""What a login leaves in Redis, so Redis's size at 1,000 logins/s (``bench.redis_sizing``).

Complete card logins (``bench/flow_client.py``: PAR, /authorize, the login page with its
challenge, the card's result, /token with DPoP, /userinfo; every answer checked) run in this
process against the IdP's WSGI app (``bench.flow_wsgi``) on PostgreSQL and a **Redis of its
own** (``redis-server`` on a free port, no persistence), so nothing else writes to it. Each
login is a different card, that is a different citizen: the worst case, since a citizen's
second login reuses some keys (the OCSP answer for their certificate, their session index).
Then ``--abandoned`` logins stop at the login page, as a person who closes the tab does.

Measured after each phase, for every key the phase left (``SCAN`` under the IdP's prefix):
its kind (the key's name up to its first identifier), ``MEMORY USAGE`` (key and value as
stored), ``PTTL`` and type. ``MEMORY USAGE`` leaves out part of what a key costs (allocator size
classes, the main and expiry hash tables), so each kind's keys are also restored ``COPIES`` times
(``DUMP``/``RESTORE``) and ``INFO memory``'s ``used_memory`` growth per copy is what a key of
that kind costs at scale. Keys a login takes or deletes on its way (the pushed request, the
code, the challenge) are gone by then; what remains lives until its TTL, so by Little's law a
steady R logins/s holds R × Σ(bytes of a kind per login × its TTL). Kinds that do not grow
with logins (one per client: rate-limit counters, the DPoP nonce) are counted once.
Prints one line per kind and a final JSON line; ``--record`` appends it to
``bench/results/redis_sizing.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE = 1000
"""Logins per second the sizing is given for."""
NAME = re.compile(r"[a-z][a-z_-]{0,30}")


def kind_of(key: str) -> str:
    """The key's name up to its first identifier: ``used-code:<sha256>`` → ``used-code:*``,
    ``limit/challenges_per_login/<id>/20/10/minute`` → ``limit/challenges_per_login/*``."""
    parts = re.split(r"([:/])", key)
    kept = parts[0] if NAME.fullmatch(parts[0]) else "*"
    for i in range(2, len(parts), 2):
        if not NAME.fullmatch(parts[i]) or kept.endswith("*"):
            return kept + (parts[i - 1] + "*" if not kept.endswith("*") else "")
        kept += parts[i - 1] + parts[i]
    return kept


COPIES = 50
"""Copies of every key a phase left, restored to measure ``used_memory`` at scale."""


def snapshot(client, prefix: str, known: set[bytes]) -> tuple[dict[str, dict], dict[str, list]]:
    """Every key under ``prefix`` not in ``known``, by kind: keys, bytes, TTL range, types;
    and the keys themselves, by kind."""
    kinds: dict[str, dict] = {}
    found: dict[str, list] = {}
    for key in client.scan_iter(prefix + "*", count=1000):
        if key in known:
            continue
        known.add(key)
        found.setdefault(kind_of(key.decode()[len(prefix) :]), []).append(key)
        size = client.memory_usage(key, samples=0) or 0
        ttl = client.pttl(key) / 1000
        entry = kinds.setdefault(
            kind_of(key.decode()[len(prefix) :]),
            {"keys": 0, "bytes": 0, "ttl_s_min": ttl, "ttl_s_max": ttl, "types": []},
        )
        entry["keys"] += 1
        entry["bytes"] += size
        entry["ttl_s_min"] = min(entry["ttl_s_min"], ttl)
        entry["ttl_s_max"] = max(entry["ttl_s_max"], ttl)
        if (kind := client.type(key).decode()) not in entry["types"]:
            entry["types"].append(kind)
    return kinds, found


def used_memory_per_key(client, found: dict[str, list], copies: int = COPIES) -> dict[str, int]:
    """``used_memory`` per key of each kind at scale: every key of the kind is restored
    ``copies`` times under a new name (``DUMP``/``RESTORE``: the same encoding, size and TTL),
    and the growth of ``used_memory`` (allocator, hash tables and expiry index included) is
    divided by the copies made. The copies are deleted afterwards."""
    used: dict[str, int] = {}
    for kind, keys in found.items():
        dumps = [(key, client.dump(key), max(1, client.pttl(key))) for key in keys]
        before = client.info("memory")["used_memory"]
        pipe = client.pipeline(transaction=False)
        made = []
        for i in range(copies):
            for key, dumped, ttl in dumps:
                made.append(key + b"~" + str(i).encode())
                pipe.restore(made[-1], ttl, dumped)
        pipe.execute()
        used[kind] = round((client.info("memory")["used_memory"] - before) / len(made))
        for start in range(0, len(made), 1000):
            client.delete(*made[start : start + 1000])
    return used


def sizing(kinds: dict[str, dict], logins: int, used: dict[str, int] | None = None) -> dict:
    """Per login and at ``RATE`` logins/s in the steady state (Little's law, full TTLs): by
    ``MEMORY USAGE``, and by ``used_memory`` at scale when ``used`` (per key, by kind) is given."""
    per_login = {k: v for k, v in kinds.items() if v["keys"] >= logins / 2}
    fixed = {k: v for k, v in kinds.items() if k not in per_login}
    keys = sum(v["keys"] for v in per_login.values()) / logins
    size = sum(v["bytes"] for v in per_login.values()) / logins
    steady_keys = RATE * sum(v["keys"] / logins * v["ttl_s_max"] for v in per_login.values())
    steady_bytes = RATE * sum(v["bytes"] / logins * v["ttl_s_max"] for v in per_login.values())
    steady_bytes += sum(v["bytes"] for v in fixed.values())
    out = {}
    if used is not None:
        used_per_login = sum(v["keys"] * used[k] for k, v in per_login.items()) / logins
        steady_used = RATE * sum(
            v["keys"] / logins * v["ttl_s_max"] * used[k] for k, v in per_login.items()
        )
        out = {
            "used_memory_per_login": round(used_per_login),
            "steady_used_memory_mib": round(steady_used / 2**20, 1),
        }
    return {
        "keys_per_login": round(keys, 2),
        "bytes_per_login": round(size),
        **out,
        "steady_keys": round(steady_keys),
        "steady_mib": round(steady_bytes / 2**20, 1),
        "per_login_kinds": sorted(per_login),
        "fixed_kinds": sorted(fixed),
    }


@contextlib.contextmanager
def private_redis(work: Path):
    """A redis-server of this run's own on a free port: no persistence, no other writers."""
    from sandbox.server import free_port

    port = free_port()
    redis_server = shutil.which("redis-server") or "redis-server"
    options = f"--port {port} --bind 127.0.0.1 --appendonly no --dir {work}".split()
    server = subprocess.Popen(  # noqa: S603 - the system's redis-server, our arguments
        [redis_server, *options, "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def abandon(browser) -> None:
    """PAR, /authorize and the login page, then nothing: a person who closed the tab."""
    import secrets
    from urllib.parse import urlencode, urlsplit

    from bench.flow_client import b64url

    browser.cookies = {}
    params = browser.pushed_request(b64url(secrets.token_bytes(32)), secrets.token_urlsafe(12))
    got = browser._send("POST", "/par", params, step="par")
    request_uri = json.loads(browser._expect("par", got, 201)[2])["request_uri"]
    query = urlencode({"client_id": browser.client_id, "request_uri": request_uri})
    got = browser._send("GET", "/authorize?" + query, step="authorize")
    page = urlsplit(browser._expect("authorize", got, 303)[1]["Location"]).path
    browser._expect("login page", browser._send("GET", page, step="page"), 200)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_sizing", description=__doc__)
    parser.add_argument("--logins", type=int, default=100, help="complete logins, one per card")
    parser.add_argument("--abandoned", type=int, default=50, help="logins left at the page")
    parser.add_argument("--label", default="", help="free text kept in the JSON line")
    parser.add_argument(
        "--record", action="store_true", help="append to bench/results/redis_sizing.jsonl"
    )
    args = parser.parse_args(argv)
    if args.logins < 2 or args.abandoned < 0:
        parser.error("--logins must be at least 2 and --abandoned at least 0")

    work = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    try:
        with private_redis(work) as url:
            os.environ["IDP_TEST_REDIS_URL"] = url  # read by bench.flow_world at import
            line = _measure(work, url, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    line.update(label=args.label, at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    if args.record:
        with (Path(__file__).parent / "results" / "redis_sizing.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


def _measure(work: Path, url: str, args) -> dict:
    from urllib.parse import urlsplit

    import redis

    from bench.flow_client import Browser, CardSigner
    from bench.flow_world import World, _app
    from bench.flow_wsgi import WsgiConnection
    from idp.oidc.backchannel import COURIER
    from idp.services import services
    from sandbox.server import free_port

    cards = args.logins + args.abandoned
    world = World.build(work, database="postgresql", workers=1, cards=cards, port=free_port())
    app = None
    try:
        os.environ.update(world.env)
        app = _app(world.env)
        prefix = services(app).config.ephemeral.key_prefix
        client = redis.Redis.from_url(url)
        known = set(client.scan_iter(prefix + "*"))
        browsers = []
        for card in world.cards:
            browser = Browser(
                world.issuer, world.client_id, world.client_key, world.client_kid,
                CardSigner(card, world.state),
            )  # fmt: skip
            browser.conn = WsgiConnection(app, urlsplit(world.issuer).netloc, {})
            browsers.append(browser)
        for browser in browsers[: args.logins]:
            browser.login()
        logins, found = snapshot(client, prefix, known)
        used_logins = used_memory_per_key(client, found)
        for browser in browsers[args.logins :]:
            abandon(browser)
        abandoned, found = snapshot(client, prefix, known)
        used_abandoned = used_memory_per_key(client, found)
        version = client.info("server")["redis_version"]
    finally:
        if app is not None and (courier := services(app)[COURIER]):
            courier.stop()  # its thread would poll the database being dropped
        world.close()
    for phase, kinds, used in (
        ("login", logins, used_logins),
        ("abandoned", abandoned, used_abandoned),
    ):
        for kind, v in sorted(kinds.items()):
            v["used_memory_per_key"] = used[kind]
            print(
                f"{phase:9s} {kind:30s} {v['keys']:5d} keys {v['bytes'] / v['keys']:5.0f} B/key "
                f"(used_memory {used[kind]:4d}) ttl {v['ttl_s_min']:5.0f}-{v['ttl_s_max']:5.0f} s "
                + ",".join(v["types"])
            )
    line = {
        "logins": args.logins,
        "login": sizing(logins, args.logins, used_logins),
        "login_kinds": logins,
        "abandoned_logins": args.abandoned,
        "redis_version": version,
    }
    if args.abandoned:
        line["abandoned"] = sizing(abandoned, args.abandoned, used_abandoned)
        line["abandoned_kinds"] = abandoned
    return line


if __name__ == "__main__":
    sys.exit(main())
