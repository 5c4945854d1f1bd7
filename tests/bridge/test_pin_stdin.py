"""``--pin-stdin``: one line per operation, nothing more consumed, EOF and cancel both end it."""

from __future__ import annotations

import contextlib
import os

import pytest

from client_bridge import errors
from client_bridge.operation import Prompt, Request
from client_bridge.pin import KeyKind
from client_bridge.pin_stdin import describe, read_line, stdin_pin_reader

PROMPT = Prompt(Request(KeyKind.AUTH, "https://idp.example.jp", bytes(32), "Sample Bank"), 1)


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_reads_one_line_and_leaves_the_next(pipe) -> None:
    read_end, write_end = pipe
    os.write(write_end, b"1234\n5678\n")
    reader = stdin_pin_reader(read_end)
    assert reader(PROMPT, lambda: False).value == bytearray(b"1234")
    assert reader(PROMPT, lambda: False).value == bytearray(b"5678")


def test_stop_returns_none_without_a_line(pipe) -> None:
    assert read_line(pipe[0], lambda: True) is None


def test_end_of_input_cancels(pipe) -> None:
    read_end, write_end = pipe
    os.write(write_end, b"12")
    os.close(write_end)
    with pytest.raises(errors.Cancelled):
        read_line(read_end, lambda: False)


def test_a_badly_shaped_pin_is_refused(pipe) -> None:
    read_end, write_end = pipe
    os.write(write_end, b"12345\n")
    with pytest.raises(errors.PinFormat):
        stdin_pin_reader(read_end)(PROMPT, lambda: False)


def test_the_prompt_names_origin_service_and_warns_on_the_last_try() -> None:
    text = describe(PROMPT)
    assert "https://idp.example.jp" in text
    assert "Sample Bank" in text
    assert "last try" in text
    assert "市区町村の窓口" in text
