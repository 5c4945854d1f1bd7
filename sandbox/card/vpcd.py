"""The vpcd transport: a virtual card in the vsmartcard-vpcd reader of a running pcscd.

vsmartcard's reader driver (vpcd) listens on TCP (127.0.0.1:35963 is the first reader,
"Virtual PCD 00 00") and the virtual card connects to it. Both sides send messages framed as a
2-byte big-endian length and a payload. From vpcd, a 1-byte payload is a control:

======= ============ ==========================================
byte    meaning      the card answers
======= ============ ==========================================
``00``  power off    nothing
``01``  power on     nothing
``02``  reset        nothing
``04``  get ATR      the ATR, framed
======= ============ ==========================================

Any other payload is a command APDU, answered with the response APDU, framed. (A 1-byte APDU of
00, 01, 02 or 04 is therefore indistinguishable from a control: that is the protocol's limit; other
1-byte APDUs are answered as malformed.) vpcd polls presence by asking for the ATR; the card's
socket closing is what PC/SC programs see as the card's removal, and a new connection as an
insertion. vpcd accepts one card at a time: a second card's connection waits in its backlog.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterator

from sandbox.card.card import VirtualCard
from sandbox.state import SandboxError, SandboxState

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
CONNECT_TIMEOUT = 5.0
FRAME_TIMEOUT = 5.0
"""Seconds to wait for the rest of a frame once its first byte arrived."""
RECONNECT_INTERVAL = 0.5
WAITING_HINT_AFTER = 5.0
"""Seconds without a word from vpcd after connecting before we say the reader seems busy."""


def answer(card: VirtualCard, message: bytes) -> bytes | None:
    """The card's reply to one vpcd message, or None when the message expects none."""
    if len(message) == 1 and message[0] in (CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR):
        control = message[0]
        if control == CTRL_OFF:
            card.power_off()
        elif control == CTRL_ON:
            card.power_on()
        elif control == CTRL_RESET:
            card.reset()
        else:
            return card.atr
        return None
    if not message:
        return None  # vpcd never sends an empty frame; nothing sensible to answer
    return card.transmit(message)


def frame(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


class ReaderGone(Exception):
    """vpcd closed the connection or stopped answering (pcscd stopped or restarted)."""


class VpcdSession:
    """Keeps one card in one vpcd reader until :meth:`stop`, reconnecting if vpcd goes away."""

    def __init__(
        self,
        card: VirtualCard,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.card = card
        self.host, self.port = host, port
        self.say = say or _say
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        """Ask :meth:`serve` to remove the card; safe from a signal handler or another thread."""
        self._stopping.set()
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def connect(self) -> socket.socket:
        """A new connection to vpcd; OSError if nothing listens there."""
        sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(FRAME_TIMEOUT)  # waiting happens in select(); I/O itself must not hang
        return sock

    def close(self) -> None:
        os.close(self._wake_r)
        os.close(self._wake_w)

    def serve(self, sock: socket.socket) -> None:
        """Answer vpcd on ``sock`` (from :meth:`connect`) until stopped; closes it at the end."""
        try:
            while not self._stopping.is_set():
                self._serve_connection(sock)
                sock.close()
                self.card.power_off()  # the reader vanished: the card lost power
                if self._stopping.is_set():
                    break
                self.say(f"The virtual reader at {self.where} went away; waiting for it to return.")
                reconnected = self._reconnect()
                if reconnected is None:
                    break
                sock = reconnected
        finally:
            sock.close()
            self.card.power_off()
            self.say(f"Card {self.card.card_id} removed from the virtual reader ({self.where}).")

    def _serve_connection(self, sock: socket.socket) -> None:
        announced = hinted = False
        waited = 0.0
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                events = selector.select(timeout=1.0)
                if not events:
                    waited += 1.0
                    if not announced and not hinted and waited >= WAITING_HINT_AFTER:
                        hinted = True
                        self.say(
                            f"Connected to {self.where}, but pcscd has not taken the card "
                            "yet: is another card in that reader?"
                        )
                    continue
                if any(key.fileobj is self._wake_r for key, _ in events):
                    return
                try:
                    message = _receive(sock)
                    if not announced:  # vpcd talks to the card: pcscd has taken it
                        announced = True
                        self.say(
                            f"Card {self.card.card_id} is in the virtual reader ({self.where}); "
                            "stop with Ctrl-C or SIGTERM to remove it."
                        )
                    reply = answer(self.card, message)
                    if reply is not None:
                        sock.sendall(frame(reply))
                except (ReaderGone, OSError):
                    return

    def _reconnect(self) -> socket.socket | None:
        while not self._stopping.wait(RECONNECT_INTERVAL):
            try:
                return self.connect()
            except OSError:
                continue
        return None


def _say(line: str) -> None:
    print(line, flush=True)  # at once, also when stdout is a pipe or a log file


def _receive(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">H", _read_exactly(sock, 2))
    return _read_exactly(sock, length)


def _ack_now(sock: socket.socket) -> None:
    """Acknowledge at once what vpcd sends. vpcd writes a frame's length and its payload in two
    send() calls with Nagle's algorithm on: the payload waits for the ACK of the length, and
    Linux's delayed ACK would hold that ACK for ~40 ms, on every APDU. TCP_QUICKACK is not
    sticky (the kernel may leave quick-ack mode), so it is set again before each read."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    chunks, missing = [], count
    while missing:
        _ack_now(sock)
        chunk = sock.recv(missing)  # TimeoutError (an OSError) if vpcd stalls mid-frame
        if not chunk:
            raise ReaderGone
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def _stop_on_signals(session: VpcdSession) -> Iterator[None]:
    """SIGTERM and SIGINT remove the card cleanly (main thread only: Python's rule)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: session.stop())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def insert(
    state: SandboxState, card_id: str, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> None:
    """Put card ``card_id`` into the vpcd reader at host:port until SIGTERM or SIGINT.

    Prints one line when the card is in the reader and one when it has been removed. Raises
    SandboxError for an unknown card or when no vpcd listens at host:port.
    """
    card = VirtualCard.from_state(state, card_id)
    session = VpcdSession(card, host, port)
    with contextlib.closing(session), _stop_on_signals(session):
        try:
            sock = session.connect()
        except OSError as error:
            raise SandboxError(
                f"cannot reach the virtual reader at {session.where}: is pcscd running with "
                f"vsmartcard-vpcd? ({error.strerror or error})"
            ) from error
        session.serve(sock)
