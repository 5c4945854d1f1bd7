"""At most one card operation at a time, run in a worker thread, its PIN handed over once.

The API starts an operation and answers at once; the login page then waits on it
(``GET /v1/operations/<id>``) while the citizen types the PIN on the bridge's own page, or the
bridge reads it from stdin (``--pin-stdin``). A second start while one runs is :class:`Busy`.
Finished operations are kept briefly for the page to collect, then dropped.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from client_bridge import errors, operation
from client_bridge.pin import Pin, Pins
from client_bridge.protocol import Result
from client_bridge.session import Connector

STARTING, PIN_REQUIRED, WORKING, DONE, FAILED = (
    "starting", "pin_required", "working", "done", "failed"
)  # fmt: skip
FINISHED = (DONE, FAILED)
PIN_TIMEOUT = 120.0
KEEP_FINISHED = 60.0

PinReader = Callable[[operation.Prompt, Callable[[], bool]], Pin | Pins | None]
"""Reads a PIN (both, for a two-key operation) outside the page (stdin). The second argument says
when to give up (cancelled or timed out); the reader then returns None. A PIN of the wrong shape
raises PinFormat."""


@dataclass
class Operation:
    """One request's life. ``pin_token`` guards the PIN form; it never leaves the bridge page."""

    request: operation.Request
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    pin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    state: str = STARTING
    prompt: operation.Prompt | None = None
    result: Result | None = None
    error: errors.BridgeError | None = None
    finished_at: float | None = None
    collected: bool = False
    """The page that started it has received the result (its poll answered "done")."""
    abandoned: bool = False
    """The page said it is gone while the card was signing: the result is dropped."""
    pins: queue.Queue[Pin | Pins | errors.BridgeError] = field(
        default_factory=lambda: queue.Queue(1)
    )

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class Broker:
    """Owns the one-operation lock and the table of recent operations."""

    def __init__(
        self,
        connect: Connector,
        pin_reader: PinReader | None = None,
        pin_timeout: float = PIN_TIMEOUT,
    ) -> None:
        self.connect = connect
        self.pin_reader = pin_reader
        self.pin_timeout = pin_timeout
        self.changed = threading.Condition()
        self.operations: dict[str, Operation] = {}

    @property
    def active(self) -> Operation | None:
        with self.changed:
            return next((op for op in self.operations.values() if not op.finished), None)

    def start(self, request: operation.Request) -> Operation:
        with self.changed:
            self._forget_old()
            if self.active is not None:
                raise errors.Busy("an operation is in progress")
            op = Operation(request)
            self.operations[op.id] = op
        threading.Thread(target=self._run, args=(op,), daemon=True, name=f"op-{op.id}").start()
        return op

    def get(self, op_id: str) -> Operation:
        with self.changed:
            self._forget_old()
            if op_id not in self.operations:
                raise errors.NotFound("no such operation")
            return self.operations[op_id]

    def wait(self, op: Operation, seconds: float, seen_state: str | None = None) -> None:
        """Block until ``op`` leaves ``seen_state`` (default: its current state) or time is up."""
        seen = seen_state or op.state
        with self.changed:
            self.changed.wait_for(lambda: op.state != seen or op.finished, timeout=seconds)

    def wait_finished(self, op: Operation, seconds: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: op.finished, timeout=seconds)

    def give_pin(self, op: Operation, pin: Pin | Pins | errors.BridgeError) -> None:
        """Hand the PIN(s) (or a cancellation, also before they are asked for) over, once."""
        waiting = (PIN_REQUIRED,) if isinstance(pin, Pin | Pins) else (STARTING, PIN_REQUIRED)
        with self.changed:  # the state cannot change under us: _set takes the same lock
            if op.state in waiting and op.pins.empty():
                op.pins.put_nowait(pin)
                return
        _wipe(pin)
        raise errors.Busy("this operation is not waiting for a PIN")

    def collect(self, op: Operation) -> None:
        """The page has the result: from now on the PIN window may say so."""
        with self.changed:
            if op.state == DONE and not op.collected:
                op.collected = True
                self.changed.notify_all()

    def wait_collected(self, op: Operation, seconds: float) -> None:
        """Block until a done ``op`` is collected (or dropped), or time is up."""
        with self.changed:
            self.changed.wait_for(lambda: op.collected or op.state != DONE, timeout=seconds)

    def abandon(self, op: Operation) -> None:
        """The page that started ``op`` is gone: a PIN is no longer taken, a signature being
        made is dropped when it is done, and one made but not collected is dropped now. A
        result the page collected stays as it was (it is the page's to post)."""
        with self.changed:
            if op.state in (STARTING, PIN_REQUIRED) and op.pins.empty():
                op.pins.put_nowait(errors.Abandoned("the page that asked is gone"))
            elif op.state == WORKING or not op.pins.empty():
                op.abandoned = True
            elif op.state == DONE and not op.collected:
                self._drop(op)

    def _drop(self, op: Operation) -> None:
        op.result, op.error, op.state = None, errors.Abandoned("result not collected"), FAILED
        op.finished_at = time.monotonic()
        self.changed.notify_all()

    def _set(self, op: Operation, state: str, **values: object) -> None:
        with self.changed:
            if state == DONE and op.abandoned:
                self._drop(op)
                return
            for name, value in values.items():
                setattr(op, name, value)
            op.state = state
            if op.finished:
                op.finished_at = time.monotonic()
            self.changed.notify_all()

    def _run(self, op: Operation) -> None:
        try:
            result = operation.perform(op.request, self.connect, lambda p: self._ask(op, p))
        except errors.BridgeError as error:
            self._set(op, FAILED, error=error)
        except Exception as error:  # a bug must still end the operation and free the card
            self._set(op, FAILED, error=errors.CardError(type(error).__name__))
        else:
            self._set(op, DONE, result=result)
        finally:  # a PIN handed over just as the operation failed must not linger
            with self.changed:
                while not op.pins.empty():
                    _wipe(op.pins.get_nowait())

    def _ask(self, op: Operation, prompt: operation.Prompt) -> Pin | Pins:
        self._set(op, PIN_REQUIRED, prompt=prompt)
        deadline = time.monotonic() + self.pin_timeout
        if self.pin_reader is not None:
            pin = self.pin_reader(
                prompt, lambda: not op.pins.empty() or time.monotonic() > deadline
            )
        else:
            try:
                pin = op.pins.get(timeout=self.pin_timeout)
            except queue.Empty:
                pin = None
        if pin is None and not op.pins.empty():
            pin = op.pins.get_nowait()
        if isinstance(pin, errors.BridgeError):
            raise pin
        if pin is None:
            raise errors.PinTimeout("no PIN entered in time")
        self._set(op, WORKING)
        return pin

    def _forget_old(self) -> None:
        now = time.monotonic()
        for op_id, op in list(self.operations.items()):
            if op.finished_at is not None and now - op.finished_at > KEEP_FINISHED:
                del self.operations[op_id]


def _wipe(item: Pin | Pins | errors.BridgeError | None) -> None:
    if isinstance(item, Pin | Pins):
        item.wipe()
