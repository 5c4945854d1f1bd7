"""``--pin-stdin``: the PIN as one line on standard input, for headless use and automation.

The prompt goes to stderr and names the requesting origin, the service, the key and the tries
left, as the PIN page does; for a document also its title, summary and digest fingerprint. A
two-key operation (bridge-protocol.md §9) reads two lines: the 4-digit PIN, then the signing
password.
Standard input is read byte by byte straight from the file descriptor, so only this operation's
line is consumed (the next line waits for the next operation) and no Python buffer keeps a copy.
On a terminal, echo is switched off while the PIN is typed.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
from collections.abc import Callable, Iterator

from client_bridge import errors, messages
from client_bridge.operation import Document, Prompt
from client_bridge.pin import KeyKind, Pin, Pins

POLL_SECONDS = 0.2


def describe(prompt: Prompt) -> str:
    """The prompt's text in English and Japanese."""
    request = prompt.request
    keys = " and ".join(kind.value for kind in request.keys)
    lines = [
        f"PIN requested by {request.origin} for {request.service!r} ({keys} key)",
        f"{messages.text('requested_by', 'ja')}: {request.origin} / "
        f"{messages.text('service', 'ja')}: {request.service}",
    ]
    if request.document is not None:
        lines += _document_lines(request.document)
    if request.pair:
        lines += [messages.text("pair_explained", lang) for lang in messages.LANGUAGES]
    if prompt.tries:
        lines += [
            messages.text(f"tries_left_{kind.value}", lang, tries_left=left)
            for kind, left in prompt.tries
            if left is not None
            for lang in messages.LANGUAGES
        ]
    elif prompt.tries_left is not None:
        lines += [
            messages.text(f"tries_left_{prompt.request.kind.value}", lang,
                          tries_left=prompt.tries_left)
            for lang in messages.LANGUAGES
        ]  # fmt: skip
    for kind in prompt.last_keys:
        lines += [messages.text(f"last_try_{kind.value}", lang) for lang in messages.LANGUAGES]
    return "\n".join(lines)


def _document_lines(document: Document) -> list[str]:
    """Title, summary and fingerprint in both languages, and what to compare (§8)."""
    lines = []
    for lang in messages.LANGUAGES:
        lines += [
            f"{messages.text('purpose', lang)}: {messages.text('purpose_document', lang)}",
            f"{messages.text('document_title', lang)}: {document.title}",
            f"{messages.text('document_summary', lang)}: {document.summary}",
            f"{messages.text('document_fingerprint', lang)}: {document.fingerprint}",
            messages.text("check_document", lang),
        ]
    return lines


@contextlib.contextmanager
def _no_echo(fd: int) -> Iterator[None]:
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    quiet = saved[:]
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_line(fd: int, stop: Callable[[], bool]) -> bytearray | None:
    """One line without its newline; None if ``stop()`` turns true first; Cancelled on EOF."""
    line = bytearray()
    while not stop():
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if not ready:
            continue
        byte = os.read(fd, 1)
        if not byte:
            line[:] = bytes(len(line))
            raise errors.Cancelled("standard input closed")
        if byte == b"\n":
            return line
        line += byte
    line[:] = bytes(len(line))
    return None


def stdin_pin_reader(
    stream: int | None = None,
) -> Callable[[Prompt, Callable[[], bool]], Pin | None]:
    """A :data:`client_bridge.broker.PinReader` over ``stream`` (default: this process's stdin)."""
    fd = sys.stdin.fileno() if stream is None else stream

    def read_one(kind: KeyKind, label: str, stop: Callable[[], bool]) -> Pin | None:
        print(f"{label}: ", end="", file=sys.stderr, flush=True)
        with _no_echo(fd):
            line = read_line(fd, stop)
        print(file=sys.stderr)
        if line is None:
            return None
        try:
            return Pin(kind, line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            raise errors.PinFormat("the PIN is not UTF-8 text") from None
        finally:
            line[:] = bytes(len(line))

    def read(prompt: Prompt, stop: Callable[[], bool]) -> Pin | Pins | None:
        print(describe(prompt), file=sys.stderr)
        if not prompt.request.pair:
            return read_one(prompt.request.kind, "PIN", stop)
        pins: list[Pin] = []
        try:
            for kind in prompt.request.keys:
                pin = read_one(kind, LABELS[kind], stop)
                if pin is None:
                    Pins(*pins).wipe()
                    return None
                pins.append(pin)
        except errors.BridgeError:
            Pins(*pins).wipe()
            raise
        return Pins(*pins)

    return read


LABELS = {KeyKind.AUTH: "PIN (4 digits)", KeyKind.SIGN: "Signing password"}
"""The stdin prompt per line of a two-key operation."""
