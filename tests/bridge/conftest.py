"""Fixtures for the bridge: an in-process card (unit tests only) and a card in "Virtual PCD 00 01".

The PC/SC fixtures put a sandbox card into vpcd's second reader (port 35964) with
``jpki-sandbox insert CARD --vpcd-port 35964`` as a subprocess, so the bridge talks to it through
pcscd exactly as to a real reader. The card suite uses "Virtual PCD 00 00"; a file lock keeps
bridge tests in separate processes from sharing 00 01. Nothing outlives its test.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from client_bridge.app import create_app
from client_bridge.pcsc import PcscContext
from client_bridge.session import Connector
from client_bridge.settings import BridgeSettings
from sandbox.card import VirtualCard
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.state import SandboxState

AUTH_PIN = "1234"
SIGN_PIN = "ABC123"
VPCD_PORT = 35964
READER = "Virtual PCD 00 01"
JPKI_SANDBOX = str(Path(sys.executable).with_name("jpki-sandbox"))
READER_LOCK = Path(tempfile.gettempdir()) / f"jpki-idp-vpcd-{VPCD_PORT}.lock"
TIMEOUT = 15.0


@pytest.fixture(scope="session")
def template_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxState, str]:
    """One sandbox with one card, made once (RSA keys take time); tests use copies."""
    state = SandboxState.init(tmp_path_factory.mktemp("bridge") / "state")
    return state, state.issue_card(SAMPLE_CITIZENS[0], AUTH_PIN, SIGN_PIN).id


@pytest.fixture
def sandbox(template_state: tuple[SandboxState, str], tmp_path: Path) -> tuple[SandboxState, str]:
    """A private copy: full PIN tries, nothing shared between tests."""
    template, card_id = template_state
    shutil.copytree(template.root, tmp_path / "state")
    return SandboxState(tmp_path / "state"), card_id


class InProcessConnection:
    """The sandbox card called directly: a unit-test transport, never used by the bridge."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(bytes(apdu))
        return self.card.transmit(bytes(apdu))

    def transaction(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()


@pytest.fixture
def connection(sandbox: tuple[SandboxState, str]) -> InProcessConnection:
    return InProcessConnection(VirtualCard.from_state(*sandbox))


@pytest.fixture
def connector(connection: InProcessConnection) -> Connector:
    @contextlib.contextmanager
    def connect() -> Iterator[InProcessConnection]:
        yield connection

    return connect


# --- the real PC/SC stack -------------------------------------------------------------------


def card_present(reader: str = READER) -> bool:
    with PcscContext() as context:
        return context.card_present(reader)


def wait_for(present: bool, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if card_present() == present:
            return True
        time.sleep(0.05)
    return False


@dataclass
class InsertedCard:
    state: SandboxState
    card_id: str
    process: subprocess.Popen[str]
    reader: str = READER

    def remove(self) -> None:
        """Pull the card out (SIGTERM the insert process) and wait until pcscd sees it gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        assert wait_for(present=False), "pcscd still shows the card after its removal"


@pytest.fixture
def reader_lock() -> Iterator[None]:
    """Serialises every user of Virtual PCD 00 01 across processes."""
    try:
        with PcscContext() as context:
            names = context.readers()
    except Exception as error:  # any failure to reach pcscd fails the test with its text
        pytest.fail(f"pcscd is not reachable ({error}); script/services starts it", pytrace=False)
    if READER not in names:
        pytest.fail(f"pcscd has no reader {READER!r} (readers: {names})", pytrace=False)
    with READER_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if card_present():
            pytest.fail(f"a card is already in {READER!r}; remove it first", pytrace=False)
        yield


@pytest.fixture
def inserted(sandbox: tuple[SandboxState, str], reader_lock: None) -> Iterator[InsertedCard]:
    """A fresh card (PINs 1234 / ABC123) in Virtual PCD 00 01 through pcscd and vpcd."""
    with insert_card(*sandbox) as handle:
        yield handle


@contextlib.contextmanager
def insert_card(state: SandboxState, card_id: str) -> Iterator[InsertedCard]:
    """``jpki-sandbox insert CARD --vpcd-port 35964`` until the block ends (hold reader_lock)."""
    command = [JPKI_SANDBOX, "--state", str(state.root), "insert", card_id]
    process = subprocess.Popen(
        [*command, "--vpcd-port", str(VPCD_PORT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle = InsertedCard(state, card_id, process)
    try:
        if not wait_for(present=True):
            process.kill()
            pytest.fail(f"the card did not appear: {process.communicate()[0]}", pytrace=False)
        yield handle
    finally:
        with contextlib.suppress(Exception):
            handle.remove()
        if process.poll() is None:
            process.kill()
            process.wait()


# --- the API in process ---------------------------------------------------------------------

IDP = "https://idp.example.jp"


class Clock:
    """A hand-moved monotonic clock for the rate limits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(connector: Connector, clock: Clock) -> Flask:
    """The bridge app on port 8003 allowing IDP, PINs from its page, the card in process."""
    settings = BridgeSettings(frozenset({IDP}), port=8003, pin_timeout=5)
    return create_app(settings, connect=connector, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
