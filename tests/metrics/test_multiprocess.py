"""Multiprocess mode: gunicorn with two workers and ``PROMETHEUS_MULTIPROC_DIR``; whichever
worker answers the scrape, the counts are every worker's, summed, and a worker that exits
leaves its counts behind (counters never go back)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox.server import free_port
from tests.metrics.conftest import BEARER, TOKEN, Samples

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONF = Path(__file__).resolve().parents[2] / "idp" / "gunicorn_conf.py"
JWKS = ("jpki_idp_http_requests_total", {"endpoint": "oidc.jwks", "status": "2xx"})


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class Served:
    """gunicorn running the IdP; ``pids`` reads which worker served each /jwks (access log)."""

    def __init__(self, tmp: Path, redis_url: str) -> None:
        from tests.conftest import idp_test_config, make_app

        database = f"sqlite:///{tmp}/idp.sqlite3"
        make_app(idp_test_config(database), tmp / "migrate")  # the schema, as `idp db upgrade`
        config = tmp / "idp.toml"
        config.write_text(
            'environment = "testing"\nprocesses = 2\n'
            f'[ephemeral]\nredis_url = "{redis_url}"\nkey_prefix = "m{secrets.token_hex(6)}:"\n'
            f'[jpki]\ncrl_index_dir = "{tmp}/crl-index"\n'
        )
        self.multiproc = tmp / "prometheus"
        self.multiproc.mkdir()
        self.log = tmp / "access.log"
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS"))}
        env |= {
            "IDP_CONFIG": str(config),
            "IDP_SECRET_KEY": "multiprocess-" + "x" * 32,
            "IDP_DATABASE_URL": database,
            "IDP_METRICS_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(self.multiproc),
        }
        command = [GUNICORN, "-c", str(CONF), "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", "2", "--access-logfile", str(self.log)]
        command += ["--access-logformat", "%(p)s %(U)s", "--log-level", "warning"]
        self.process = subprocess.Popen([*command, "idp.wsgi:app"], env=env, cwd=tmp)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            with contextlib.suppress(OSError):
                if _get(self.port, "/.well-known/openid-configuration")[0] == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError("gunicorn did not start serving")

    def workers(self) -> list[int]:
        root = self.process.pid
        children = Path(f"/proc/{root}/task/{root}/children")
        return [int(p) for p in children.read_text().split()]

    def jwks_served_by(self) -> set[str]:
        served = (json.loads(line)["message"] for line in self.log.read_text().splitlines())
        return {line.split()[0] for line in served if line.endswith("/jwks")}

    def scrape(self) -> Samples:
        status, body = _get(self.port, "/metrics", BEARER)
        assert status == 200, body
        return Samples(body)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def served(tmp_path, redis_url):
    server = Served(tmp_path, redis_url)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _send_jwks(port: int, count: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _get(port, "/jwks")[0], range(count)))
    assert statuses == [200] * count


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_both_workers_counts_are_summed_and_outlive_a_worker(served):
    assert len(served.workers()) == 2
    sent = 0
    for _ in range(20):  # until both workers have served some (the kernel picks the acceptor)
        _send_jwks(served.port, 40)
        sent += 40
        if len(served.jwks_served_by()) == 2:
            break
    assert len(served.jwks_served_by()) == 2, "one worker served every request"
    for _ in range(6):  # each scrape is answered by one worker or the other: the same sum
        assert served.scrape()[JWKS] == sent
    assert {f.name for f in served.scrape().families} >= {
        "jpki_idp_http_request_duration_seconds",
        "jpki_idp_signing_keys_published",
    }

    gone = served.workers()[0]
    os.kill(gone, signal.SIGTERM)  # a worker of the gunicorn this test started
    deadline = time.monotonic() + 30
    while (gone in served.workers() or len(served.workers()) < 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone not in served.workers()
    _send_jwks(served.port, 10)
    assert served.scrape()[JWKS] == sent + 10


def test_a_missing_multiprocess_directory_stops_the_start_up(tmp_path):
    instance = str(tmp_path / "instance")
    script = (
        "from idp import create_app\n"
        "from idp.config import Config, ConfigError\n"
        "try:\n"
        f"    create_app(Config(environment='testing'), instance_path={instance!r})\n"
        "except ConfigError as e:\n"
        "    print('refused:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS"))}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "never-made")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: PROMETHEUS_MULTIPROC_DIR"), done.stdout
