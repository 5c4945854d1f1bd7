"""The vpcd transport against a fake vpcd (a TCP listener speaking vsmartcard's framing).

No pcscd needed: these pin the protocol down; test_pcsc_*.py run the real stack.
"""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time

import pytest

from sandbox.card import ATR
from sandbox.card import vpcd as vpcd_module
from sandbox.card.vpcd import VpcdSession, insert
from sandbox.state import SandboxError
from tests.sandbox.card.commands import read_binary, select_aid, select_ef, sw, verify
from tests.sandbox.card.conftest import start_insert

OFF, ON, RESET, GET_ATR = b"\x00", b"\x01", b"\x02", b"\x04"


class FakeVpcd:
    """The reader side: listens like vpcd, accepts the card, sends frames, reads answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(10)

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(struct.pack(">H", len(payload)) + payload)

    def receive(self) -> bytes:
        assert self.conn is not None
        (length,) = struct.unpack(">H", self._exactly(2))
        return self._exactly(length)

    def ask(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.receive()

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.conn.recv(count - len(data))  # type: ignore[union-attr]
            if not chunk:
                raise EOFError("the card closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.fixture
def fake_vpcd():
    fake = FakeVpcd()
    yield fake
    fake.close()


@pytest.fixture
def session(card, fake_vpcd):
    """A card served to the fake vpcd from a thread; yields (session, fake, what it said)."""
    said: list[str] = []
    running = VpcdSession(card, port=fake_vpcd.port, say=said.append)
    thread = threading.Thread(target=running.serve, args=(running.connect(),), daemon=True)
    thread.start()
    fake_vpcd.accept()
    yield running, fake_vpcd, said
    running.stop()
    thread.join(10)
    assert not thread.is_alive()
    running.close()


def test_atr_request_is_answered_with_the_atr(session):
    _, vpcd, said = session
    assert vpcd.ask(GET_ATR) == ATR
    assert any("is in the virtual reader" in line for line in said)


def test_power_controls_get_no_answer(session):
    _, vpcd, _ = session
    vpcd.send(ON)
    vpcd.send(RESET)
    vpcd.send(OFF)
    vpcd.send(ON)
    assert vpcd.ask(GET_ATR) == ATR  # the first frame back answers the ATR request


def test_apdus_are_answered_with_response_and_sw(session):
    _, vpcd, _ = session
    vpcd.send(ON)
    assert vpcd.ask(select_aid()) == bytes.fromhex("9000")
    assert vpcd.ask(bytes.fromhex("00CA000000")) == bytes.fromhex("6D00")


def test_frames_sent_back_to_back_are_each_answered(session):
    _, vpcd, _ = session
    frames = [select_aid(), select_ef(0x000A), read_binary(0, 4)]
    vpcd.conn.sendall(b"".join(struct.pack(">H", len(f)) + f for f in frames))
    answers = [vpcd.receive() for _ in frames]
    assert [sw(a) for a in answers] == ["9000", "9000", "9000"]
    assert answers[2][:2] == b"\x30\x82"


@pytest.mark.parametrize("control", [RESET, OFF])
def test_reset_and_power_off_end_verification(session, control):
    _, vpcd, _ = session
    vpcd.send(ON)
    for command in (select_aid(), select_ef(0x001B), verify("ABC123")):
        assert sw(vpcd.ask(command)) == "9000"
    vpcd.send(control)
    vpcd.send(ON)
    vpcd.ask(select_aid())
    vpcd.ask(select_ef(0x0001))
    assert sw(vpcd.ask(read_binary(0, 4))) == "6982"


def test_tries_survive_reset(session):
    _, vpcd, _ = session
    vpcd.send(ON)
    vpcd.ask(select_aid())
    vpcd.ask(select_ef(0x0018))
    assert sw(vpcd.ask(verify("0000"))) == "63C2"
    vpcd.send(RESET)
    vpcd.ask(select_aid())
    vpcd.ask(select_ef(0x0018))
    assert sw(vpcd.ask(verify())) == "63C2"


@pytest.mark.parametrize("payload", [b"\x03", b"\x05", b"\xff", b"\x00\xa4"])
def test_short_payloads_that_are_not_controls_get_6700(session, payload):
    _, vpcd, _ = session
    assert vpcd.ask(payload) == bytes.fromhex("6700")


def test_reconnects_when_vpcd_goes_away_and_the_card_lost_power(session):
    _, vpcd, said = session
    vpcd.ask(GET_ATR)
    vpcd.ask(select_aid())
    vpcd.ask(select_ef(0x001B))
    vpcd.ask(verify("ABC123"))
    vpcd.conn.close()
    vpcd.accept()  # the card comes back by itself
    assert vpcd.ask(GET_ATR) == ATR
    vpcd.ask(select_aid())
    vpcd.ask(select_ef(0x0001))
    assert sw(vpcd.ask(read_binary(0, 4))) == "6982"
    assert any("went away" in line for line in said)


def test_a_frame_cut_short_counts_as_vpcd_gone(session, monkeypatch):
    _, vpcd, _ = session
    monkeypatch.setattr(vpcd_module, "FRAME_TIMEOUT", 0.3)
    vpcd.ask(GET_ATR)
    vpcd.conn.close()  # reconnect so that the new socket gets the short timeout
    vpcd.accept()
    vpcd.conn.sendall(b"\x00")  # half a length
    vpcd.server.settimeout(5)
    second = vpcd.conn
    vpcd.accept()
    second.close()
    assert vpcd.ask(GET_ATR) == ATR


def test_stop_closes_the_connection_and_says_removed(card, fake_vpcd):
    said: list[str] = []
    running = VpcdSession(card, port=fake_vpcd.port, say=said.append)
    thread = threading.Thread(target=running.serve, args=(running.connect(),))
    thread.start()
    fake_vpcd.accept()
    fake_vpcd.ask(GET_ATR)
    running.stop()
    thread.join(10)
    running.close()
    assert fake_vpcd.conn.recv(1) == b""  # removal: the socket is closed
    assert said[0].startswith(f"Card {card.card_id} is in the virtual reader (127.0.0.1:")
    removed = f"Card {card.card_id} removed from the virtual reader (127.0.0.1:{fake_vpcd.port})."
    assert said[-1] == removed


def test_a_hint_when_pcscd_does_not_take_the_card(card, fake_vpcd, monkeypatch):
    monkeypatch.setattr(vpcd_module, "WAITING_HINT_AFTER", 1.0)
    said: list[str] = []
    running = VpcdSession(card, port=fake_vpcd.port, say=said.append)
    thread = threading.Thread(target=running.serve, args=(running.connect(),))
    thread.start()  # never accepted: as when another card holds the reader
    deadline = time.monotonic() + 5
    while not any("another card" in line for line in said) and time.monotonic() < deadline:
        time.sleep(0.1)
    running.stop()
    thread.join(10)
    running.close()
    assert any("has not taken the card yet" in line for line in said)


def test_insert_without_vpcd_is_a_clear_error(state, card_id):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    expected = rf"cannot reach the virtual reader at 127\.0\.0\.1:{port}: is pcscd running with"
    with pytest.raises(SandboxError, match=expected + r" vsmartcard-vpcd\?"):
        insert(state, card_id, port=port)


def test_insert_of_an_unknown_card_is_a_clear_error(state):
    with pytest.raises(SandboxError, match="unknown card"):
        insert(state, "ffffffffffff", port=1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_removes_the_card_and_exits_cleanly(state, card_id, fake_vpcd, sig):
    process = start_insert(state, card_id, port=fake_vpcd.port)
    try:
        fake_vpcd.accept()
        assert fake_vpcd.ask(GET_ATR) == ATR
        first_line = process.stdout.readline()
        assert "is in the virtual reader" in first_line
        process.send_signal(sig)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert f"Card {card_id} removed from the virtual reader" in out
    assert fake_vpcd.conn.recv(1) == b""


def test_insert_process_reports_unreachable_vpcd(state, card_id):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start_insert(state, card_id, port=port)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 1
    assert "cannot reach the virtual reader" in out
