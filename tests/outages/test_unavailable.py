"""PostgreSQL or Redis out of reach: 503 with Retry-After, OAuth's temporarily_unavailable for
programs, a page for people, one log line per request, and service again once it is back,
without restarting the IdP."""

from __future__ import annotations

import logging
import time

import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def assert_program_503(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["error"] == "temporarily_unavailable"


def assert_page_503(response, words: str = "一時的にご利用いただけません") -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "7"
    assert 'data-status="503"' in html
    assert words in html


def one_line_each(caplog, requests: int) -> None:
    """Exactly one warning-or-worse line per failed request, and no traceback anywhere."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == requests, [r.getMessage() for r in loud]
    assert all(r.name == "idp.unavailable" and not r.exc_info for r in loud)
    assert not any(r.exc_info for r in caplog.records)


def test_postgresql_down_is_503_for_programs_and_people_then_recovers(
    outage_app, database, rp, caplog
):
    proxy, _ = database
    http = outage_app.test_client()
    assert rp.tokens()["access_token"]
    proxy.cut()
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    assert_program_503(http.get("/jwks"))  # keys.reload_seconds = 0: read from the database
    assert_program_503(rp.authorize(login_hint="citizen-1"))
    assert_page_503(http.get("/authorize?client_id=x", headers=BROWSER))
    english = http.get("/authorize?client_id=x&lang=en", headers=BROWSER)
    assert_page_503(english, "This service is briefly unavailable")
    one_line_each(caplog, 4)
    assert "database unavailable: GET /jwks" in caplog.records[0].getMessage()
    proxy.mend()
    assert rp.tokens(login_hint="citizen-1")["access_token"]
    assert http.get("/jwks").status_code == 200


def test_redis_killed_is_503_then_a_new_redis_serves(outage_app, redis_server, rp, caplog):
    http = outage_app.test_client()
    assert rp.tokens()["access_token"]
    code = rp.login_code()
    redis_server.kill()
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    assert_program_503(rp.token(code))
    assert_program_503(rp.push())
    assert_page_503(http.get("/authorize?" + _query(rp), headers=BROWSER))
    one_line_each(caplog, 3)
    assert "redis unavailable: POST /token" in caplog.records[0].getMessage()
    redis_server.start()  # same port, empty: what was in flight is gone, new flows work
    assert rp.token(code).json["error"] == "invalid_grant"
    assert rp.tokens()["access_token"]


def _query(rp) -> str:
    from urllib.parse import urlencode

    return urlencode(rp.authorization_params())


def test_a_stalled_database_fails_within_its_timeout(outage_app, database, rp):
    """A black hole (nothing refused, nothing answered): only the configured timeouts end the
    wait, well before gunicorn's 30 s would kill the worker."""
    proxy, _ = database
    code = rp.login_code()
    proxy.stall()
    started = time.monotonic()
    assert_program_503(rp.token(code))
    assert time.monotonic() - started < 10
    proxy.mend()
    assert rp.token(code).status_code == 200


def test_a_stalled_redis_fails_within_its_timeout(database, redis_server, tmp_path):
    from tests.conftest import drop_schema
    from tests.oidc.conftest import _register
    from tests.outages.conftest import build_app
    from tests.tcp_proxy import Proxy

    proxy = Proxy(("127.0.0.1", redis_server.port))
    app = build_app(database[1], f"redis://127.0.0.1:{proxy.port}/0", tmp_path / "instance")
    try:
        rp = _register(app, app.test_client(), "client_secret_basic")
        code = rp.login_code()
        proxy.stall()
        started = time.monotonic()
        assert_program_503(rp.token(code))
        assert time.monotonic() - started < 5
        proxy.mend()
        assert rp.token(code).status_code == 200
    finally:
        proxy.close()
        drop_schema(app)


@pytest.fixture
def faulty_app(tmp_path):
    """A SQLite IdP with a view that queries a missing table (built before the test's log
    capture starts: the migrations configure logging)."""
    from sqlalchemy import text

    from idp.storage.db import db
    from tests.conftest import drop_schema, idp_test_config, make_app

    app = make_app(idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3"), tmp_path / "instance")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/_test/fault")
    def fault():
        db.session.execute(text("SELECT * FROM no_such_table"))

    yield app
    drop_schema(app)


def test_a_database_fault_that_is_no_outage_stays_a_500_with_its_traceback(faulty_app, caplog):
    """SQLite's missing table is an OperationalError too, but a bug: no 503 hides it."""
    response = faulty_app.test_client().get("/_test/fault")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)
