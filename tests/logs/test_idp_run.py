"""``idp run`` configures the IdP's JSON logs itself, as gunicorn does (test_json_logs.py): every
line on stderr is one JSON object, the development server's access lines included, each
request's lines carry its id and the response echoes it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idp.logs import HEADER
from sandbox.server import free_port
from tests.conftest import REGISTRATION_TOKEN, idp_test_config, make_app
from tests.logs.test_json_logs import _get, _register

IDP = str(Path(sys.executable).with_name("idp"))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_idp_run_logs_every_line_as_json_with_the_request_id(tmp_path):
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
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [IDP, "run", "--port", str(port)], env=env, cwd=tmp_path, stderr=err, stdout=err
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, stderr.read_text()
            with contextlib.suppress(OSError):
                answer = _get(
                    port, "/authorize?client_id=nobody&state=s3cret", {HEADER: "run-0001"}
                )
                break
            assert time.monotonic() < deadline, "idp run did not start serving"
            time.sleep(0.2)
        assert answer.getheader(HEADER) == "run-0001"
        registered = _register(port, {HEADER: "run-0002"})
    finally:
        process.terminate()
        process.wait(30)
    text = stderr.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # each line one JSON object
    assert all(isinstance(line, dict) for line in lines)
    served = {
        line.get("request_id"): line["message"] for line in lines if "GET /" in line["message"]
    }
    # No query string, and no terminal colours inside the JSON (werkzeug's own log_request).
    assert served["run-0001"].endswith('] "GET /authorize HTTP/1.1" 400 -'), served["run-0001"]
    assert "s3cret" not in text  # the access line has no query string
    (audited,) = [line for line in lines if line["logger"] == "idp.audit"]
    assert (audited["event"], audited["client_id"]) == ("client.registered", registered)
    assert audited["request_id"] == "run-0002"
