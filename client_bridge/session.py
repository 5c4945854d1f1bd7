"""Finding the citizen's card among the readers and holding it for one operation.

``--reader NAME`` picks one reader by its exact PC/SC name. Without it, every reader holding a card
is tried in pcscd's order and the first whose card answers the JPKI AP's SELECT is used: selecting
that one AID is harmless on any other card (a bank card answers ``6A82``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from client_bridge import errors
from client_bridge.apdu import Transport
from client_bridge.card import JpkiCard
from client_bridge.pcsc import PcscCard, PcscContext


class Connection(Transport, Protocol):
    """A transport that can also hold the card for a sequence of APDUs."""

    def transaction(self) -> contextlib.AbstractContextManager[object]: ...


class Connector(Protocol):
    """Opens the citizen's card for one operation; the API and CLI receive one of these."""

    def __call__(self) -> contextlib.AbstractContextManager[Connection]: ...


@dataclass(frozen=True)
class ReaderState:
    name: str
    card_present: bool


def reader_states(context: PcscContext) -> list[ReaderState]:
    return [ReaderState(name, context.card_present(name)) for name in context.readers()]


def candidates(context: PcscContext, wanted: str | None) -> list[str]:
    """Readers worth trying, or the error that says why there is none."""
    names = context.readers()
    if wanted is not None:
        if wanted not in names:
            raise errors.NoReader(f"no reader named {wanted!r}")
        names = [wanted]
    if not names:
        raise errors.NoReader("PC/SC lists no reader")
    with_card = [name for name in names if context.card_present(name)]
    if not with_card:
        raise errors.NoCard(f"no card in {', '.join(names)}")
    return with_card


@dataclass(frozen=True)
class PcscConnector:
    """The one code path for real readers and the sandbox's vpcd reader."""

    reader: str | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Connection]:
        with PcscContext() as context:
            names = candidates(context, self.reader)
            connection = _first_jpki_card(context, names)
            try:
                yield connection
            finally:
                connection.close()


def _first_jpki_card(context: PcscContext, names: list[str]) -> PcscCard:
    """Connect to each reader in turn; a failing reader is skipped while others remain."""
    for index, name in enumerate(names):
        try:
            connection = context.connect(name)
        except errors.BridgeError:
            if index == len(names) - 1:
                raise
            continue
        try:
            with connection.transaction():
                JpkiCard(connection).select_application()
        except BaseException as error:
            connection.close()
            if index == len(names) - 1 or not isinstance(error, errors.BridgeError):
                raise
            continue
        return connection
    raise errors.NoCard("no reader to try")
