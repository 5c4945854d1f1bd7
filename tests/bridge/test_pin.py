"""PIN formats (docs/jpki.md §5), normalisation, and a holder that forgets and never shows the
PIN."""

from __future__ import annotations

import pytest

from client_bridge import errors
from client_bridge.pin import KeyKind, Pin


@pytest.mark.parametrize("typed", ["123", "12345", "12a4", "", "12 34", "١٢٣٤"])
def test_auth_pin_of_the_wrong_shape_is_refused(typed: str) -> None:
    with pytest.raises(errors.PinFormat):
        Pin(KeyKind.AUTH, typed)


@pytest.mark.parametrize("typed", ["ABC12", "A" * 17, "ABC-123", "パスワード123"])
def test_signing_password_of_the_wrong_shape_is_refused(typed: str) -> None:
    with pytest.raises(errors.PinFormat):
        Pin(KeyKind.SIGN, typed)


def test_full_width_digits_from_an_ime_become_ascii() -> None:
    assert Pin(KeyKind.AUTH, "１２３４").value == bytearray(b"1234")


def test_signing_password_is_upper_cased() -> None:
    assert Pin(KeyKind.SIGN, "abc123").value == bytearray(b"ABC123")


def test_repr_never_shows_the_pin() -> None:
    assert "1234" not in repr(Pin(KeyKind.AUTH, "1234"))


def test_wipe_zeroes_and_forgets() -> None:
    pin = Pin(KeyKind.AUTH, "1234")
    buffer = pin.value
    with pin:
        pass
    assert buffer == bytearray(4)
    with pytest.raises(RuntimeError, match="wiped"):
        _ = pin.value
