"""The same FAPI card login in Debian's Chromium, through nginx over https: the login page and
consent screen in the browser under their CSP, the real bridge and the virtual card (PIN typed
in the bridge's window), the bank's back channel in Python (tests/production/client.py), logout
in the browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER, insert_card, reader_lock  # noqa: F401
from tests.e2e.browser import require_chromium
from tests.production.client import Bank, expect
from tests.production.topology import LOGOUT_REDIRECT_URI, ROOT

pytestmark = pytest.mark.production


CERTUTIL = Path("/usr/bin/certutil")


def _home_trusting(ca_file: Path, home: Path) -> Path:
    """A HOME whose NSS database (``.pki/nssdb``, where Chromium on Linux looks) holds the test
    CA as a trusted SSL CA, and nothing else."""
    if not CERTUTIL.is_file():
        pytest.fail(f"{CERTUTIL} is missing: run script/bootstrap (libnss3-tools)", pytrace=False)
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-n", "jpki-idp production test CA", "-t", "C,,", "-i", str(ca_file)],
    ):
        run = subprocess.run([CERTUTIL, "-d", database, *args], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    return home


def _check_headers(responses: list[dict]) -> None:
    assert responses, "the browser saw no response from the IdP"
    for response in responses:
        headers = {h["name"].lower(): h["value"] for h in response["headers"]}
        where = f"{response['method']} {response['url']} ({response['status']})"
        assert headers.get("strict-transport-security") == "max-age=63072000", where
        assert headers.get("x-content-type-options") == "nosniff", where
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), where
        for h in response["headers"]:
            if h["name"].lower() == "set-cookie":
                assert h["value"].startswith("__Host-"), (where, h["value"])
                assert "Secure" in h["value"], (where, h["value"])


@pytest.fixture
def bridge(topology, reader_lock) -> Iterator[BridgeProcess]:  # noqa: F811
    """The second citizen's card in Virtual PCD 00 01 and ``jpki-bridge run`` on the topology's
    bridge port, allowing the issuer's origin."""
    with insert_card(topology.state, topology.card_ids[1]):
        args = ["--reader", READER, "--pin-timeout", "30", "--allow-origin", topology.issuer]
        started = BridgeProcess.start(*args, "--port", str(topology.bridge_port), pin_stdin=False)
        try:
            assert started.port == topology.bridge_port
            yield started
        finally:
            started.stop()


@pytest.mark.pcsc
def test_card_login_and_logout_in_chromium(topology, bridge, tmp_path):
    require_chromium()
    home = _home_trusting(topology.ca_file, tmp_path / "home")
    bank = Bank(topology)
    request_uri, pending = bank.push()
    job = {
        "issuer": topology.issuer,
        "authorization_url": bank.authorization_url(request_uri),
        "pin": AUTH_PIN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.production.chromium_citizen"],
        cwd=ROOT,
        env={**os.environ, "HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process.stdin.write(json.dumps(job) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, process.stderr.read()
        login = json.loads(line)
        callback = {k: v[0] for k, v in parse_qs(urlsplit(login["callback"]).query).items()}
        assert callback["state"] == pending["state"]
        assert callback["iss"] == topology.issuer
        _check_headers(login["responses"])

        tokens = bank.token(callback["code"], pending)
        assert bank.userinfo(tokens["access_token"])["sub"]
        refreshed = expect(bank.refresh(tokens["refresh_token"]), 200, "refresh").json()

        process.stdin.write(tokens["id_token"] + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, process.stderr.read()
        logout = json.loads(line)
        assert logout["logged_out"].startswith(LOGOUT_REDIRECT_URI), logout["logged_out"]
        _check_headers(logout["responses"])
        assert bank.refresh(refreshed["refresh_token"]).json()["error"] == "invalid_grant"
        for cookie in logout["cookies"]:
            assert cookie["secure"], cookie
            assert cookie["httpOnly"], cookie
            assert cookie["sameSite"] in ("Lax", "Strict"), cookie
    finally:
        process.kill()
        process.wait(10)
