"""The login benchmark runs end to end, and the gunicorn entry point refuses what it must.

No timed assertion (benchmarks measure, tests check): the smoke test only requires complete
logins without errors and the JSON line's fields.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FIELDS = {"flows_per_s", "p50_ms", "p99_ms", "errors", "workers", "server_p99_ms", "store"}


def _bench(*args: str) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.flow", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout + done.stderr
    return done.returncode, json.loads(lines[-1])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_seconds_of_logins_against_gunicorn():
    code, line = _bench("--seconds", "2", "--concurrency", "2", "--cards", "2")
    assert code == 0
    assert set(line) >= FIELDS
    assert line["errors"] == 0, line["error_kinds"]
    assert line["flows"] > 0
    assert line["workers"] == 1
    assert line["store"] == "sqlite+memory"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_challenge_comes_with_the_page_unless_asked_for():
    """Six exchanges per login as the page's script makes them; seven with ``--challenge
    request``, the IdP answering both ways."""
    for how, steps in (
        ("page", {"par", "authorize", "page", "result", "token", "userinfo"}),
        ("request", {"par", "authorize", "page", "challenge", "result", "token", "userinfo"}),
    ):
        code, line = _bench(
            "--seconds", "1", "--concurrency", "1", "--cards", "1", "--challenge", how
        )
        assert code == 0
        assert line["errors"] == 0, line["error_kinds"]
        assert set(line["steps_p50_ms"]) == steps
        assert line["challenge"] == how


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_in_process_measurement_counts_every_endpoint_of_a_login():
    done = subprocess.run(
        [sys.executable, "-m", "bench.flow_wsgi", "--logins", "4", "--rounds", "1", "--cards", "1"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.splitlines()[-1])
    assert set(line["endpoints_cpu_ms"]) == {
        "POST /par",
        "GET /authorize",
        "GET /login/card/<id>",
        "POST /login/card/<id>/result",
        "POST /token",
        "GET /userinfo",
    }
    assert all(value > 0 for value in line["endpoints_cpu_ms"].values())
    assert line["app_cpu_ms_per_login"] == pytest.approx(
        sum(line["endpoints_cpu_ms"].values()), abs=0.05
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_postgresql_and_redis_with_two_workers(postgres_url, redis_url):
    code, line = _bench(
        "--seconds",
        "2",
        "--concurrency",
        "2",
        "--cards",
        "2",
        "--store",
        "postgresql",
        "--workers",
        "2",
    )
    assert code == 0
    assert line["errors"] == 0, line["error_kinds"]
    assert line["flows"] > 0
    assert (line["workers"], line["store"]) == (2, "postgresql+redis")


def test_two_workers_on_the_in_process_store_are_refused():
    code, line = _bench("--store", "sqlite", "--workers", "2")
    assert code == 2
    assert line["refused"] is True
    assert "Redis" in line["reason"]


def _environ(monkeypatch, tmp_path, **values: str) -> None:
    for name in ("IDP_CONFIG", "IDP_REDIS_URL", "IDP_PROCESSES", "IDP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDP_ENV", "testing")
    monkeypatch.setenv("IDP_SECRET_KEY", "wsgi-test-" + "x" * 32)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)


def test_wsgi_refuses_a_database_that_is_not_migrated(monkeypatch, tmp_path):
    from idp import wsgi

    _environ(monkeypatch, tmp_path, IDP_DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
    with pytest.raises(wsgi.StartRefused, match="idp db upgrade"):
        wsgi.build()


def test_wsgi_refuses_several_processes_without_redis(monkeypatch, tmp_path):
    from idp import wsgi

    _environ(monkeypatch, tmp_path, IDP_PROCESSES="2")
    with pytest.raises(wsgi.StartRefused, match="configuration refused: processes is 2"):
        wsgi.build()


def test_wsgi_serves_a_migrated_database(monkeypatch, tmp_path):
    from idp import wsgi
    from idp.storage.db import upgrade

    url = f"sqlite:///{tmp_path}/idp.sqlite3"
    _environ(monkeypatch, tmp_path, IDP_DATABASE_URL=url)
    from idp import create_app
    from idp.config import load_config

    with create_app(load_config()).app_context():
        upgrade()
    app = wsgi.build()
    assert app.test_client().get("/jwks").json["keys"]


def test_wsgi_app_is_built_lazily():
    import idp.wsgi

    assert "app" not in vars(idp.wsgi)
    with pytest.raises(AttributeError):
        _ = idp.wsgi.nothing_here
