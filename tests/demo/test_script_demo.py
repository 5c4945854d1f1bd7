"""``script/demo`` is the first thing anyone runs: it must start everything and stop cleanly, and
the sample bank's "apply" button must lead, through PAR, to the IdP's login page in Japanese."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _ignoring(signals: tuple[signal.Signals, ...]) -> Iterator[None]:
    """Ignore ``signals`` here, so that a child started meanwhile inherits them ignored: what a
    shell does to a background job (SIGINT), or nohup (SIGHUP) and some supervisors."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


SERVICES = (
    "jpki-sandbox serve|jpki-sandbox insert|idp run|jpki-bridge run|examples.relying_party run"
)


def _services_left(pgid: int) -> str:
    """The demo's services still running in its process group (the services stay in it; pcscd,
    which script/services may have started there, is meant to outlive the demo)."""
    found = subprocess.run(
        ["pgrep", "-a", "-g", str(pgid), "-f", SERVICES], capture_output=True, text=True
    )
    return found.stdout


@pytest.fixture
def demo(request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[str]]:
    """``script/demo`` in a session of its own, started with the signals ``request.param``
    (default: none) ignored."""
    with READER_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with _ignoring(getattr(request, "param", ())):
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


def _running(demo: subprocess.Popen[str]) -> list[str]:
    """Wait until every service answers and the card is in; the demo's banner."""
    discovery = _until(lambda: _get(f"{IDP}/.well-known/openid-configuration"), 120)
    assert discovery.json()["issuer"] == IDP
    status = _until(lambda: _get("http://127.0.0.1:8003/v1/status", {"Origin": IDP}), 30)
    assert status.headers["Access-Control-Allow-Origin"] == IDP
    crl = _until(lambda: _get("http://127.0.0.1:8002/crl/auth.crl"), 30)
    assert crl.headers["Content-Type"] == "application/pkix-crl"
    assert wait_for_card(READER, present=True, timeout=30)
    return list(_lines_until(demo, "demo PINs"))


STOPS = [
    pytest.param(signal.SIGINT, (), id="ctrl-c"),
    # Started from a script or as a background job: SIGINT inherited ignored.
    pytest.param(signal.SIGINT, (signal.SIGINT,), id="ctrl-c-inherited-ignored"),
    pytest.param(signal.SIGTERM, (signal.SIGINT, signal.SIGTERM), id="term-inherited-ignored"),
]


@pytest.mark.parametrize(("stop", "demo"), STOPS, indirect=["demo"])
def test_demo_starts_every_service_and_stops_on_ctrl_c(
    demo: subprocess.Popen[str], stop: signal.Signals
) -> None:
    banner = _running(demo)
    assert any("open                   http://127.0.0.1:8001" in line for line in banner)
    # the bank subscribed to the IdP's Shared Signals, its stream verified by a pushed event
    assert any("shared signals" in line and "/ssf/events" in line for line in banner)
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

    if stop == signal.SIGINT:  # Ctrl-C: the terminal signals the whole foreground group
        os.killpg(demo.pid, signal.SIGINT)
    else:  # a service manager or kill(1): only the script
        os.kill(demo.pid, signal.SIGTERM)
    output, _ = demo.communicate(timeout=30)
    assert "demo stopped" in output
    assert wait_for_card(READER, present=False, timeout=30)
    assert _services_left(demo.pid) == ""


@pytest.mark.parametrize("demo", [(signal.SIGINT,)], indirect=True)
def test_demo_says_which_service_died_and_stops_the_others(demo: subprocess.Popen[str]) -> None:
    _running(demo)
    bridge = subprocess.run(
        ["pgrep", "-g", str(demo.pid), "-f", "jpki-bridge run"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(bridge) == 1
    os.kill(int(bridge[0]), signal.SIGKILL)

    output, _ = demo.communicate(timeout=30)
    assert demo.returncode == 1
    assert (
        "script/demo: the client bridge (jpki-bridge run, port 8003) stopped (exit status 137);"
        " stopping the others" in output
    )
    assert "demo stopped" in output
    assert wait_for_card(READER, present=False, timeout=30)
    assert _services_left(demo.pid) == ""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{IDP}/.well-known/openid-configuration", timeout=5)
