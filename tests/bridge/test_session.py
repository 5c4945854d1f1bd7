"""Choosing the reader: a named one exactly, otherwise every reader that holds a card.

Through PC/SC the tests always name "Virtual PCD 00 01" (the card suite owns 00 00), so the
search without a name is tested here against a stand-in for the PC/SC context.
"""

from __future__ import annotations

import pytest

from client_bridge import errors
from client_bridge.session import candidates


class Readers:
    def __init__(self, **cards: bool) -> None:
        self.cards = cards

    def readers(self) -> list[str]:
        return list(self.cards)

    def card_present(self, reader: str) -> bool:
        return self.cards[reader]


def test_without_a_name_every_reader_with_a_card_is_a_candidate() -> None:
    context = Readers(builtin=True, usb=False, pasori=True)
    assert candidates(context, None) == ["builtin", "pasori"]  # type: ignore[arg-type]


def test_a_named_reader_is_the_only_candidate() -> None:
    assert candidates(Readers(a=True, b=True), "b") == ["b"]  # type: ignore[arg-type]


def test_an_unknown_name_is_no_reader() -> None:
    with pytest.raises(errors.NoReader):
        candidates(Readers(a=True), "z")  # type: ignore[arg-type]


def test_no_readers_at_all_is_no_reader() -> None:
    with pytest.raises(errors.NoReader):
        candidates(Readers(), None)  # type: ignore[arg-type]


def test_readers_without_cards_is_no_card() -> None:
    with pytest.raises(errors.NoCard):
        candidates(Readers(a=False, b=False), None)  # type: ignore[arg-type]
    with pytest.raises(errors.NoCard):
        candidates(Readers(a=True, b=False), "b")  # type: ignore[arg-type]
