"""The login's CPU inside the IdP's WSGI app, without an HTTP server: ``python -m bench.flow_wsgi``.

The same logins as ``bench.flow`` (``bench/flow_client.py``, every answer checked), one after
another in this process, each request handed straight to ``idp.wsgi``'s app as a WSGI call.
Only the app's own CPU is counted (``time.thread_time`` around each call), so the figure leaves
out gunicorn and the load generator, and moves much less with the machine's other load than a
throughput run: use it to see what a change to the IdP's code buys, request by request, then
confirm with ``bench.flow``. Prints one line per endpoint and a final JSON line; ``--rounds``
repeats the measurement and keeps each endpoint's best round (noise only ever adds time).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import shutil
import sys
import tempfile
import time
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from bench.flow_profile_conf import _endpoint


class _Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = Message()
        for name, value in headers:
            self.headers[name] = value
        self._body = body

    def getheader(self, name: str):
        return self.headers.get(name)

    def read(self) -> bytes:
        return self._body


class WsgiConnection:
    """Stands in for ``http.client.HTTPConnection``: each request is one call of the app."""

    def __init__(self, app, host: str, cpu: dict[str, list[float]]) -> None:
        self.app = app
        self.host = host
        self.cpu = cpu
        self._response: _Response | None = None

    def request(self, method: str, target: str, body, headers: dict[str, str]) -> None:
        path, _, query = target.partition("?")
        data = body.encode() if isinstance(body, str) else (body or b"")
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": self.host.split(":")[0],
            "SERVER_PORT": self.host.split(":")[1],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(data)),
            "REMOTE_ADDR": "127.0.0.1",
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        got: dict = {}

        def start_response(status, response_headers, _exc_info=None):
            got["status"] = int(status.split(" ", 1)[0])
            got["headers"] = response_headers

        started = time.thread_time()
        result = self.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        entry = self.cpu.setdefault(_endpoint(environ), [0.0, 0])
        entry[0] += time.thread_time() - started
        entry[1] += 1
        self._response = _Response(got["status"], got["headers"], payload)

    def getresponse(self) -> _Response:
        return self._response

    def close(self) -> None:
        pass


def _round(browsers: list, logins: int, profile: Path | None) -> dict[str, float]:
    """One round of ``logins`` logins spread over the browsers: ms of app CPU per endpoint."""
    cpu: dict[str, list[float]] = {}
    for browser in browsers:
        browser.conn.cpu = cpu
    profiler = cProfile.Profile(time.thread_time) if profile else None
    if profiler is not None:
        profiler.enable()
    for i in range(logins):
        browsers[i % len(browsers)].login()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return {endpoint: seconds * 1000 / count for endpoint, (seconds, count) in cpu.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flow_wsgi", description=__doc__)
    parser.add_argument("--logins", type=int, default=200, help="logins per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cards", type=int, default=4)
    parser.add_argument("--profile", type=Path, help="write a cProfile (CPU time) of one round")
    parser.add_argument("--label", default="", help="free text kept in the JSON line")
    parser.add_argument(
        "--record", action="store_true", help="append to bench/results/flow_wsgi.jsonl"
    )
    args = parser.parse_args(argv)

    from bench.flow_client import Browser, CardSigner
    from bench.flow_world import World, _app
    from sandbox.server import free_port

    work = Path(tempfile.mkdtemp(prefix="bench-wsgi-"))
    world = World.build(work, database=args.store, workers=1, cards=args.cards, port=free_port())
    try:
        os.environ.update(world.env)  # as gunicorn's workers see them
        app = _app(world.env)
        browsers = []
        for card in world.cards:
            signer = CardSigner(card, world.state)
            browser = Browser(
                world.issuer, world.client_id, world.client_key, world.client_kid, signer
            )
            browser.conn = WsgiConnection(app, urlsplit(world.issuer).netloc, {})
            browser.login()  # warm-up: OCSP answer cached, DPoP nonce learnt
            browsers.append(browser)
        best: dict[str, float] = {}
        for round_number in range(args.rounds):
            profile = args.profile if round_number == 0 else None
            for endpoint, value in _round(browsers, args.logins, profile).items():
                best[endpoint] = min(best.get(endpoint, value), value)
    finally:
        world.close()
        shutil.rmtree(work, ignore_errors=True)
    per = {k: round(v, 3) for k, v in sorted(best.items())}
    for endpoint, value in per.items():
        print(f"{endpoint:42s} {value:7.3f} ms")
    line = {
        "app_cpu_ms_per_login": round(sum(per.values()), 2),
        "endpoints_cpu_ms": per,
        "store": args.store,
        "logins": args.logins,
        "rounds": args.rounds,
        "label": args.label,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if args.record:
        with (Path(__file__).parent / "results" / "flow_wsgi.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
