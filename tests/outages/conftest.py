"""Outages made with real components: the IdP on the shared PostgreSQL through a ``Proxy`` the
test cuts (the shared server itself is never stopped), and on a Redis server of its own that the
test kills and starts again on the same port."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import make_url

from tests.oidc.live import free_port
from tests.tcp_proxy import Proxy

TIMEOUTS = {
    "database_connect": 2,
    "database_statement": 2,
    "database_pool": 2.0,
    "redis_connect": 0.5,
    "redis_command": 0.5,
    "retry_after": 7,
}
"""Short timeouts, so a stalled dependency costs the suite seconds."""


class RedisServer:
    """``redis-server`` on a free port, without persistence: killed, it forgets everything."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        options += ["--appendonly", "no", "--dir", str(self._directory)]
        self._process = subprocess.Popen(
            ["redis-server", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def database(postgres_url):
    """(the proxy in front of the shared PostgreSQL, the test database's URL through it)."""
    url = make_url(postgres_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.close()


def build_app(database_url: str, redis_url: str, instance: Path):
    """A testing IdP (cardless login) on ``database_url`` and ``redis_url``, short timeouts."""
    from idp.config import EphemeralConfig, TimeoutsConfig
    from tests.conftest import idp_test_config, make_app

    config = idp_test_config(
        database_url,
        ephemeral=EphemeralConfig(redis_url=redis_url),
        timeouts=TimeoutsConfig(**TIMEOUTS),
    )
    return make_app(config, instance, cardless_login=True)


@pytest.fixture
def outage_app(database, redis_server, tmp_path):
    """The IdP on PostgreSQL through the proxy and on its own Redis."""
    from tests.conftest import drop_schema

    proxy, url = database
    application = build_app(url, redis_server.url, tmp_path / "instance")
    yield application
    proxy.mend()
    drop_schema(application)


@pytest.fixture
def rp(outage_app):
    """A client_secret_basic client of ``outage_app``, registered while everything is up."""
    from tests.oidc.conftest import _register

    return _register(outage_app, outage_app.test_client(), "client_secret_basic")
