"""``script/demo`` is the first thing anyone runs: it must start everything and stop cleanly, and
the sample bank's "apply" button must lead, through PAR, to the IdP's login page in Japanese."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.sandbox.card.conftest import READER, READER_LOCK, wait_for_card

ROOT = Path(__file__).resolve().parents[2]
IDP = "http://127.0.0.1:8000"
BANK = "http://127.0.0.1:8001"


def _get(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    answer = requests.get(url, headers=headers, timeout=5)
    answer.raise_for_status()
    return answer


def _until(check, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (OSError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _lines_until(process: subprocess.Popen[str], text: str) -> Iterator[str]:
    """The demo's output up to the line containing ``text`` (the banner comes last)."""
    assert process.stdout is not None
    for line in process.stdout:
        yield line
        if text in line:
            return


@pytest.fixture
def demo() -> Iterator[subprocess.Popen[str]]:
    with READER_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = subprocess.Popen(
            [str(ROOT / "script/demo")], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def test_demo_starts_every_service_and_stops_on_ctrl_c(demo: subprocess.Popen[str]) -> None:
    discovery = _until(lambda: _get(f"{IDP}/.well-known/openid-configuration"), 120)
    assert discovery.json()["issuer"] == IDP
    status = _until(lambda: _get("http://127.0.0.1:8003/v1/status", {"Origin": IDP}), 30)
    assert status.headers["Access-Control-Allow-Origin"] == IDP
    crl = _until(lambda: _get("http://127.0.0.1:8002/crl/auth.crl"), 30)
    assert crl.headers["Content-Type"] == "application/pkix-crl"
    assert wait_for_card(READER, present=True, timeout=30)
    banner = list(_lines_until(demo, "demo PINs"))
    assert any("open                   http://127.0.0.1:8001" in line for line in banner)
    assert [line for line in banner if "script/demo:" in line] == []

    browser = requests.Session()
    home = _until(lambda: _get(BANK + "/"), 30)
    assert 'id="apply-button"' in home.text  # registered at the IdP
    login = browser.post(BANK + "/apply", timeout=30)  # PAR, then the IdP's login page
    assert login.status_code == 200, login.text
    assert login.url.startswith(IDP + "/")
    assert any("request_uri=urn" in r.headers.get("Location", "") for r in login.history)
    assert '<html lang="ja">' in login.text
    assert "マイナンバーカードでログイン" in login.text

    os.killpg(demo.pid, signal.SIGINT)
    output, _ = demo.communicate(timeout=30)
    assert "demo stopped" in output
    assert wait_for_card(READER, present=False, timeout=30)
    leftovers = subprocess.run(
        ["pgrep", "-f", "jpki-sandbox serve|jpki-sandbox insert|idp run|jpki-bridge run|"
         "examples.relying_party run"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert leftovers.stdout == ""
