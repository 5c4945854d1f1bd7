"""Misconfiguration stops the start, with the setting named; timeouts are configured and bite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[2]
IDP = str(Path(sys.executable).with_name("idp"))


def _environ(monkeypatch, tmp_path, secret: str) -> str:
    url = f"sqlite:///{tmp_path}/idp.sqlite3"
    for name in ("IDP_CONFIG", "IDP_REDIS_URL", "IDP_PROCESSES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_ENV", "testing")
    monkeypatch.setenv("IDP_DATABASE_URL", url)
    monkeypatch.setenv("IDP_SECRET_KEY", secret)
    monkeypatch.chdir(tmp_path)
    return url


@pytest.fixture
def sealed_elsewhere(monkeypatch, tmp_path):
    """A migrated database whose signing keys were sealed with another secret than the one
    now configured."""
    from idp import create_app, wsgi
    from idp.config import load_config
    from idp.storage.db import upgrade

    _environ(monkeypatch, tmp_path, "the-original-secret-" + "o" * 32)
    with create_app(load_config()).app_context():
        upgrade()
    assert wsgi.build().test_client().get("/jwks").status_code == 200  # keys made and sealed
    monkeypatch.setenv("IDP_SECRET_KEY", "a-different-secret-" + "d" * 32)
    return tmp_path


def test_gunicorn_workers_refuse_a_secret_that_cannot_unseal_the_keys(sealed_elsewhere):
    from idp import wsgi

    with pytest.raises(wsgi.StartRefused, match=r"IDP_SECRET_KEY \(secret_key\) cannot unseal"):
        wsgi.build()


def test_idp_run_refuses_it_too(sealed_elsewhere):
    started = subprocess.run(
        [IDP, "run", "--port", "1"],
        env=dict(os.environ),
        cwd=sealed_elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "IDP_SECRET_KEY (secret_key) cannot unseal the stored signing key" in started.stderr
    assert "Traceback" not in started.stderr


def test_timeouts_are_settings_with_names(tmp_path):
    from idp.config import ConfigError, load_config

    path = tmp_path / "idp.toml"
    testing = 'environment = "testing"\n'
    path.write_text(
        testing + "[timeouts]\ndatabase_statement = 3\nredis_command = 0.25\nretry_after = 9\n"
    )
    timeouts = load_config({"IDP_CONFIG": str(path)}).timeouts
    chosen = (timeouts.database_statement, timeouts.redis_command, timeouts.retry_after)
    assert chosen == (3, 0.25, 9)
    path.write_text(testing + "[timeouts]\nredis_connect = 0\n")
    with pytest.raises(ConfigError, match=r"timeouts\.redis_connect must be a positive"):
        load_config({"IDP_CONFIG": str(path)})
    path.write_text(testing + "[timeouts]\ndatabase_connect = 1\n")
    with pytest.raises(ConfigError, match=r"timeouts\.database_connect must be at least 2"):
        load_config({"IDP_CONFIG": str(path)})


def test_production_template_and_guide_name_every_timeout():
    from dataclasses import fields

    from idp.config import TimeoutsConfig

    template = (ROOT / "config" / "production.toml").read_text()
    guide = (ROOT / "docs" / "operators.md").read_text()
    for setting in fields(TimeoutsConfig):
        assert re.search(rf"^#? ?{setting.name} = ", template, re.M), setting.name
        assert f"timeouts.{setting.name}" in guide, setting.name


def test_a_statement_past_its_timeout_is_cancelled_as_an_outage(postgres_url, tmp_path):
    from idp.config import TimeoutsConfig
    from idp.storage.db import db
    from idp.storage.outages import unavailable
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(postgres_url, timeouts=TimeoutsConfig(database_statement=1))
    app = make_app(config, tmp_path / "instance")  # migrations ran: they are exempt
    try:
        with app.app_context():
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout") as caught:
                db.session.execute(text("SELECT pg_sleep(5)"))
            assert time.monotonic() - started < 4
            assert unavailable(caught.value) == "database"
            db.session.rollback()
    finally:
        drop_schema(app)


def test_a_redis_that_does_not_answer_times_out(tmp_path):
    """A listening socket that never replies: the command gives up after redis_command."""
    import socket

    import redis

    from idp.config import TimeoutsConfig
    from idp.storage.ephemeral import RedisStore

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{port}/0", "t:", TimeoutsConfig(redis_command=0.3)
        )
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            store.get("k")
        assert time.monotonic() - started < 2


def test_gunicorn_keeps_idle_connections_longer_than_the_proxy():
    """Else gunicorn closes a connection nginx is reusing, and the request on it is reset."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "idp/gunicorn_conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    sources = [ROOT / "docs" / "operators.md", *ROOT.glob("config/**/*.conf")]
    upstreams = [
        block
        for source in sources
        for block in re.findall(r"upstream\s+\w+\s*\{[^}]*\}", source.read_text())
    ]
    assert upstreams, "no nginx upstream block found"
    for block in upstreams:
        found = re.search(r"keepalive_timeout\s+(\d+)s?\s*;", block)
        proxy_idle = int(found[1]) if found else 60  # nginx's default
        assert conf.keepalive > proxy_idle, block
