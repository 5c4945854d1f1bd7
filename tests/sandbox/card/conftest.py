"""Fixtures: a personalised card in-process, and a card inserted in the virtual reader.

``inserted_card`` is written to be copied by other suites (the bridge's, later): it needs
pcscd running with vsmartcard-vpcd (``script/test`` starts it) and FAILS, never skips, with a
message saying what is missing. It takes a lock so that no two tests, in this process or another,
use "Virtual PCD 00 00" at once, and it removes the card and waits for pcscd to notice before the
next test starts. No process outlives its test.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
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

from sandbox.card import VirtualCard
from sandbox.card.applet import JpkiApplet
from sandbox.card.files import CardContents
from sandbox.card.pins import MemoryPins, StatePins
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.state import SandboxState

AUTH_PIN = "1234"
SIGN_PIN = "ABC123"
VPCD_PORT = 35963
READER = "Virtual PCD 00 00"
"""The reader vpcd's first port (35963) shows up as in PC/SC."""
INSERT_TIMEOUT = 15.0
REMOVAL_TIMEOUT = 10.0
READER_LOCK = Path(tempfile.gettempdir()) / f"jpki-idp-vpcd-{VPCD_PORT}.lock"

# What `jpki-sandbox insert CARD --vpcd-port PORT` runs, without depending on the CLI.
INSERT_PROGRAM = (
    "import sys\n"
    "from sandbox.card.vpcd import insert\n"
    "from sandbox.state import SandboxError, SandboxState\n"
    "try:\n"
    "    insert(SandboxState(sys.argv[1]), sys.argv[2], port=int(sys.argv[3]))\n"
    "except SandboxError as error:\n"
    "    sys.exit(f'error: {error}')\n"
)


# --- in-process ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def personalised_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxState, str]:
    """One sandbox with one card, made once (keys take time); copy it before changing it."""
    state = SandboxState.init(tmp_path_factory.mktemp("template") / "state")
    record = state.issue_card(SAMPLE_CITIZENS[0], AUTH_PIN, SIGN_PIN)
    return state, record.id


@pytest.fixture
def state_and_card_id(
    personalised_state: tuple[SandboxState, str], tmp_path: Path
) -> tuple[SandboxState, str]:
    """A private copy of the personalised sandbox: full tries, nothing shared between tests."""
    template, card_id = personalised_state
    shutil.copytree(template.root, tmp_path / "state")
    return SandboxState(tmp_path / "state"), card_id


@pytest.fixture
def state(state_and_card_id: tuple[SandboxState, str]) -> SandboxState:
    return state_and_card_id[0]


@pytest.fixture
def card_id(state_and_card_id: tuple[SandboxState, str]) -> str:
    return state_and_card_id[1]


@pytest.fixture(scope="session")
def contents(personalised_state: tuple[SandboxState, str]) -> CardContents:
    state, card_id = personalised_state
    return CardContents.from_state(state, card_id)


@pytest.fixture
def card(state: SandboxState, card_id: str, contents: CardContents) -> VirtualCard:
    """A freshly personalised card, powered up, tries persisted in its own state copy.

    What ``VirtualCard.from_state(state, card_id)`` builds, with the keys loaded once per
    session (the copy holds the same keys and certificates as the template).
    """
    card = VirtualCard(JpkiApplet(contents, StatePins(state, card_id)), card_id)
    card.power_on()
    return card


@functools.cache
def standalone_contents() -> CardContents:
    """A card's contents outside any fixture (hypothesis state machines cannot take one)."""
    with tempfile.TemporaryDirectory(prefix="jpki-card-") as folder:
        state = SandboxState.init(Path(folder) / "state")
        record = state.issue_card(SAMPLE_CITIZENS[1], AUTH_PIN, SIGN_PIN)
        return CardContents.from_state(state, record.id)


def memory_card(contents: CardContents) -> VirtualCard:
    """A card whose PINs live in memory: for property tests that build thousands of cards."""
    pins = MemoryPins({CertKind.AUTH: AUTH_PIN, CertKind.SIGN: SIGN_PIN})
    return VirtualCard(JpkiApplet(contents, pins), "memory")


# --- in the virtual reader ----------------------------------------------------------------


@dataclass
class InsertedCard:
    state: SandboxState
    card_id: str
    reader: str
    process: subprocess.Popen[str]
    auth_pin: str = AUTH_PIN
    sign_pin: str = SIGN_PIN

    def remove(self) -> str:
        """Pull the card (SIGTERM the insert process); return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            out, _ = self.process.communicate(timeout=REMOVAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            out, _ = self.process.communicate()
        wait_for_card(self.reader, present=False, timeout=REMOVAL_TIMEOUT)
        return out


def reader_status(reader: str) -> tuple[bool, bytes]:
    """(card present, ATR) as pcscd reports them, without connecting to the card."""
    from smartcard import scard

    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if result != scard.SCARD_S_SUCCESS:
        raise RuntimeError(f"no PC/SC service: {scard.SCardGetErrorMessage(result)}")
    try:
        result, states = scard.SCardGetStatusChange(
            context, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
        )
        if result != scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"reader {reader!r}: {scard.SCardGetErrorMessage(result)}")
        _, event_state, atr = states[0]
        return bool(event_state & scard.SCARD_STATE_PRESENT), bytes(atr)
    finally:
        scard.SCardReleaseContext(context)


def wait_for_card(reader: str, *, present: bool, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reader_status(reader)[0] == present:
            return True
        time.sleep(0.1)
    return False


def require_virtual_reader(reader: str = READER) -> None:
    """Fail (not skip) with what to do when pcscd or its vpcd reader is missing."""
    from smartcard.System import readers

    try:
        names = [str(r) for r in readers()]
    except Exception as error:  # pyscard raises several types for "no service"
        pytest.fail(
            f"pcscd is not running or not reachable ({error}); script/test starts it "
            "(Debian packages pcscd and vsmartcard-vpcd)",
            pytrace=False,
        )
    if reader not in names:
        pytest.fail(
            f"pcscd has no reader {reader!r} (readers: {names}): install "
            "vsmartcard-vpcd and restart pcscd; script/test does both",
            pytrace=False,
        )


@pytest.fixture
def reader_lock() -> Iterator[None]:
    """One test at a time in the virtual reader, across processes (xdist, other suites)."""
    with READER_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(scope="session", autouse=True)
def _no_insert_process_outlives_the_session() -> Iterator[None]:
    """A safety net behind each test's own clean-up (a test killed by a timeout, say)."""
    yield
    for process in _STARTED:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def start_insert(state: SandboxState, card_id: str, port: int = VPCD_PORT) -> subprocess.Popen[str]:
    """``insert`` in its own process (and process group), printing to a pipe."""
    process = subprocess.Popen(
        [sys.executable, "-c", INSERT_PROGRAM, str(state.root), card_id, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _STARTED.append(process)
    return process


def insert_card(state: SandboxState, card_id: str, reader: str = READER) -> InsertedCard:
    """Start the insert process and wait until pcscd shows the card; fail with its output."""
    process = start_insert(state, card_id)
    handle = InsertedCard(state, card_id, reader, process)
    deadline = time.monotonic() + INSERT_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if reader_status(reader)[0]:
            return handle
        time.sleep(0.1)
    output = handle.remove() if process.poll() is None else process.communicate()[0]
    pytest.fail(
        f"the card did not appear in {reader!r} within {INSERT_TIMEOUT:.0f} s; "
        f"the insert process said:\n{output}",
        pytrace=False,
    )


@pytest.fixture
def inserted_card(
    state_and_card_id: tuple[SandboxState, str], reader_lock: None
) -> Iterator[InsertedCard]:
    """A freshly personalised card (PINs 1234 / ABC123) in "Virtual PCD 00 00"."""
    require_virtual_reader()
    if reader_status(READER)[0]:
        pytest.fail(
            f"a card is already in {READER!r} (is script/demo or another "
            "'jpki-sandbox insert' running?); remove it first",
            pytrace=False,
        )
    handle = insert_card(*state_and_card_id)
    try:
        yield handle
    finally:
        with contextlib.suppress(Exception):
            handle.remove()
