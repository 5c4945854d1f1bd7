"""PC/SC through pyscard's ``smartcard.scard`` layer: readers, presence, connection, transactions.

The low-level layer is used because its return codes say exactly what happened (no reader, no
card, removed, reset, shared elsewhere), and the bridge must tell those apart. A real
reader and the sandbox's vpcd reader go through this same module.

A connection is shared (other programs may use the reader between our operations), work happens
inside a PC/SC transaction (nobody interleaves between VERIFY and the signature), and the card is
reset on disconnect so that no verified PIN outlives our operation (docs/jpki.md §7).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from smartcard import scard

from client_bridge import errors

NO_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED}
NO_READER = {
    scard.SCARD_E_NO_READERS_AVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_READER_UNAVAILABLE,
}
NO_CARD = {scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD}
GONE = NO_CARD | {scard.SCARD_W_RESET_CARD, scard.SCARD_E_READER_UNAVAILABLE}
BUSY = {scard.SCARD_E_SHARING_VIOLATION}
MUTE = {scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_W_UNPOWERED_CARD}


def check(hresult: int, action: str, connected: bool = False) -> None:
    """Raise the bridge error for a PC/SC failure; ``connected`` turns "no card" into "removed"."""
    if hresult == scard.SCARD_S_SUCCESS:
        return
    detail = f"{action}: {scard.SCardGetErrorMessage(hresult)}"
    if hresult in NO_SERVICE:
        raise errors.PcscUnavailable(detail)
    if connected and hresult in GONE:
        raise errors.CardRemoved(detail)
    if hresult in NO_READER:
        raise errors.NoReader(detail)
    if hresult in NO_CARD:
        raise errors.NoCard(detail)
    if hresult in BUSY:
        raise errors.ReaderBusy(detail)
    if hresult in MUTE:
        raise errors.NotJpkiCard(detail)
    raise errors.CardError(detail)


class PcscContext:
    """One PC/SC context; create one per thread (pcsc-lite contexts are not shared safely)."""

    def __init__(self) -> None:
        hresult, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        check(hresult, "establish a PC/SC context")

    def close(self) -> None:
        scard.SCardReleaseContext(self.handle)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def readers(self) -> list[str]:
        """The readers pcscd knows, in its order; an empty list when there are none."""
        hresult, names = scard.SCardListReaders(self.handle, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        check(hresult, "list readers")
        return list(names)

    def card_present(self, reader: str) -> bool:
        """Whether a card sits in ``reader`` right now (no connection, no APDU)."""
        hresult, states = scard.SCardGetStatusChange(
            self.handle, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
        )
        check(hresult, f"read the state of {reader!r}")
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def connect(self, reader: str) -> PcscCard:
        """Connect with T=0 or T=1, whichever the card offers."""
        hresult, card, protocol = scard.SCardConnect(
            self.handle,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        check(hresult, f"connect to {reader!r}")
        return PcscCard(reader, card, protocol)


class PcscCard:
    """A connected card: a :class:`client_bridge.apdu.Transport` with transactions."""

    def __init__(self, reader: str, handle: int, protocol: int) -> None:
        self.reader = reader
        self.handle = handle
        self.protocol = protocol

    def transmit(self, apdu: bytes) -> bytes:
        hresult, response = scard.SCardTransmit(self.handle, self.protocol, list(apdu))
        check(hresult, "transmit", connected=True)
        return bytes(response)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PcscCard]:
        """Exclusive use for a sequence of APDUs; other programs wait, then resume."""
        check(scard.SCardBeginTransaction(self.handle), "begin a transaction", connected=True)
        try:
            yield self
        finally:
            scard.SCardEndTransaction(self.handle, scard.SCARD_LEAVE_CARD)

    def close(self) -> None:
        """Disconnect and reset the card: a PIN we verified must not stay verified for others."""
        scard.SCardDisconnect(self.handle, scard.SCARD_RESET_CARD)
