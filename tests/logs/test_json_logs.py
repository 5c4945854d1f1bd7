"""JSON log lines and the request id: in every line of a request, echoed in the response, taken
from the proxy only in a sane format; under gunicorn, its own lines are JSON too."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idp.logs import HEADER, JsonFormatter, request_id_from, serving
from sandbox.server import free_port
from tests.conftest import REGISTRATION_TOKEN, idp_test_config, make_app

GENERATED = re.compile(r"[0-9a-f]{32}")


def _format(message: str, *args, exc_info=None, **extra) -> dict:
    record = logging.LogRecord("idp.x", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_record_is_one_line_of_json_with_its_fields_and_extras():
    line = _format("refused: %s\nforged line", "revoked", event="login.refused", cert="sha256:ab")
    assert line["message"] == "refused: revoked\nforged line"  # escaped: one line all the same
    assert (line["level"], line["logger"]) == ("WARNING", "idp.x")
    assert (line["event"], line["cert"]) == ("login.refused", "sha256:ab")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "request_id" not in line


def test_a_traceback_stays_inside_its_line():
    try:
        raise ValueError("boom")
    except ValueError:
        line = _format("failed", exc_info=sys.exc_info())
    assert "ValueError: boom" in line["exc"]
    assert "Traceback" in line["exc"]


def test_lines_logged_while_serving_carry_the_id():
    with serving("req-12345678"):
        assert _format("inside")["request_id"] == "req-12345678"
    assert "request_id" not in _format("after")


@pytest.mark.parametrize(
    "sent",
    [
        None,
        "",
        "short",
        "x" * 129,
        "has space 123",
        'quote"12345678',
        "line\nbreak12",
        "日本語のリクエストID",
        "semi;colon123",
    ],
)
def test_an_insane_proxy_id_is_replaced(sent):
    assert GENERATED.fullmatch(request_id_from(sent))


@pytest.mark.parametrize(
    "sent", ["0123456789abcdef0123456789abcdef", "a1b2c3d4", "Root-1.2_3-abc", "x" * 128]
)
def test_a_sane_proxy_id_is_kept(sent):
    assert request_id_from(sent) == sent


@pytest.fixture
def logging_app(tmp_path):
    """An IdP with two extra routes: one that logs, one that fails."""
    application = make_app(idp_test_config(f"sqlite:///{tmp_path}/idp.sqlite3"), tmp_path / "i")

    def noisy():
        logging.getLogger("idp.test").info("inside the request")
        return "ok"

    def broken():
        raise RuntimeError("an unexpected failure")

    application.add_url_rule("/test-noisy", "noisy", noisy)
    application.add_url_rule("/test-broken", "broken", broken)
    return application


def test_the_proxy_id_is_echoed_and_in_every_line_of_the_request(logging_app, captured):
    sent = "0123456789abcdef0123456789abcdef"
    answer = logging_app.test_client().get("/test-noisy", headers={HEADER: sent})
    assert answer.headers[HEADER] == sent
    mine = [line for line in captured.lines() if line["logger"] == "idp.test"]
    assert [line["request_id"] for line in mine] == [sent]


def test_an_id_is_made_when_the_proxy_sends_none_or_a_bad_one(logging_app, captured):
    client = logging_app.test_client()
    first = client.get("/test-noisy").headers[HEADER]
    second = client.get("/test-noisy", headers={HEADER: "bad id; x=y"}).headers[HEADER]
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second
    assert [line["request_id"] for line in captured.lines() if line["logger"] == "idp.test"] == [
        first,
        second,
    ]


def test_a_server_error_is_one_line_with_the_id_and_the_traceback(logging_app, captured):
    answer = logging_app.test_client().get("/test-broken", headers={HEADER: "trace-0001"})
    assert answer.status_code == 500
    assert answer.headers[HEADER] == "trace-0001"
    (error,) = [line for line in captured.lines() if line["level"] == "ERROR"]
    assert error["request_id"] == "trace-0001"
    assert "RuntimeError: an unexpected failure" in error["exc"]


def test_every_endpoint_echoes_the_id(logging_app):
    client = logging_app.test_client()
    for path in ("/.well-known/openid-configuration", "/jwks", "/no-such-page", "/authorize"):
        assert client.get(path, headers={HEADER: "echo-12345"}).headers[HEADER] == "echo-12345"
    assert client.post("/token", headers={HEADER: "echo-67890"}).headers[HEADER] == "echo-67890"


GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONF = Path(__file__).resolve().parents[2] / "idp" / "gunicorn_conf.py"


def _get(port: int, path: str, headers: dict) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Connection": "close", **headers})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_under_gunicorn_every_line_is_json_with_the_request_id(tmp_path):
    """gunicorn's own start-up lines, its access log and the IdP's lines: all JSON on stderr."""
    database = f"sqlite:///{tmp_path}/idp.sqlite3"
    make_app(idp_test_config(database), tmp_path / "migrate")  # the schema, as `idp db upgrade`
    config = tmp_path / "idp.toml"
    config.write_text(f'environment = "testing"\n[jpki]\ncrl_index_dir = "{tmp_path}/crl"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS"))}
    env |= {
        "IDP_CONFIG": str(config),
        "IDP_SECRET_KEY": "logs-" + "x" * 32,
        "IDP_DATABASE_URL": database,
        "IDP_ADMIN_TOKEN": REGISTRATION_TOKEN,
    }
    port, stderr = free_port(), tmp_path / "stderr"
    command = [GUNICORN, "-c", str(CONF), "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    command += ["--access-logfile", "-", "idp.wsgi:app"]
    with stderr.open("wb") as err:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=err, stdout=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, stderr.read_text()
            with contextlib.suppress(OSError):
                answer = _get(port, "/authorize?client_id=nobody", {HEADER: "gunicorn-0001"})
                break
            assert time.monotonic() < deadline, "gunicorn did not start serving"
            time.sleep(0.2)
        assert answer.getheader(HEADER) == "gunicorn-0001"
        registered = _register(port, {HEADER: "gunicorn-0002"})
    finally:
        process.terminate()
        process.wait(30)
    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers
    assert any("Booting worker" in line["message"] for line in lines)
    access = {
        line["request_id"]: line["message"] for line in lines if line["logger"] == "gunicorn.access"
    }
    assert '"GET /authorize" 400' in access["gunicorn-0001"]  # no query string in the format
    assert '"POST /register" 201' in access["gunicorn-0002"]
    (audited,) = [line for line in lines if line["logger"] == "idp.audit"]  # the app's own
    assert (audited["event"], audited["client_id"]) == ("client.registered", registered)
    assert audited["request_id"] == "gunicorn-0002"


def _register(port: int, headers: dict) -> str:
    """A client registered over HTTP (the app logs an audit line); its id."""
    body = json.dumps(
        {"client_name": "Bank", "redirect_uris": ["https://bank.example/cb"],
         "token_endpoint_auth_method": "client_secret_basic"}
    )  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    auth = {"Authorization": f"Bearer {REGISTRATION_TOKEN}", "Content-Type": "application/json"}
    conn.request("POST", "/register", body=body, headers={**auth, **headers})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status == 201, answer
    return answer["client_id"]
