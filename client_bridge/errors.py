"""Every way a bridge operation fails, each a class with a stable ``reason``.

The reason is the API's error code and the key of the sentence a person reads
(:mod:`client_bridge.messages`); the login page and tests switch on it, never on the prose.
``http_status`` matters only for errors that end an HTTP request directly; card errors reach
the page inside an operation (``"status": "failed"``).
"""

from __future__ import annotations

from typing import Any

from client_bridge import messages


class BridgeError(Exception):
    """Base: something the citizen, the page or the operator can act on."""

    reason = "card_error"
    http_status = 500

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(detail or self.reason)

    def extra(self) -> dict[str, Any]:
        """Fields beside the reason in the API answer (e.g. tries left)."""
        return {}

    def message(self, language: str) -> str:
        return messages.text(self.reason, language, **self.extra())

    def to_json(self) -> dict[str, Any]:
        """``{"error": reason, ..., "message": {"ja": ..., "en": ...}}`` (bridge-protocol.md)."""
        text = {language: self.message(language) for language in messages.LANGUAGES}
        return {"error": self.reason, **self.extra(), "message": text}


class PcscUnavailable(BridgeError):
    """pcscd is not running (SCARD_E_NO_SERVICE): no reader can be seen at all."""

    reason = "pcsc_unavailable"


class NoReader(BridgeError):
    reason = "no_reader"


class NoCard(BridgeError):
    reason = "no_card"


class NotJpkiCard(BridgeError):
    """The card answered the JPKI AP's SELECT with anything but 9000."""

    reason = "not_jpki_card"


class ReaderBusy(BridgeError):
    """Another program holds the reader exclusively (SCARD_E_SHARING_VIOLATION)."""

    reason = "reader_busy"


class CardRemoved(BridgeError):
    """The card went away (or was reset by another program) after the operation began."""

    reason = "card_removed"


class CardError(BridgeError):
    """An unexpected status word; the detail names the command and the SW, never the data."""


class PinRequired(BridgeError):
    """``6982``: the signing certificate or a key needs its PIN verified first (docs/jpki.md §1)."""

    reason = "pin_required"


class PinFormat(BridgeError):
    """Refused before the card sees it, so no try is spent (docs/jpki.md §5)."""

    reason = "pin_format"


class WrongPin(BridgeError):
    """``63Cx`` after VERIFY: x tries are left. The bridge never retries by itself.

    ``pin`` names the key ("auth" or "sign") in a two-key operation (bridge-protocol.md §9),
    where the page must know which of the two PINs was wrong; None in a one-key operation.
    ``key`` is the key whatever the operation, so the sentence names the right secret (the
    signing key's is a password, not a PIN); it is not part of the API answer."""

    reason = "wrong_pin"

    def __init__(self, tries_left: int, pin: str | None = None, key: str | None = None) -> None:
        self.tries_left = tries_left
        self.pin = pin
        self.key = key or pin or "auth"
        super().__init__(f"{tries_left} tries left")

    def extra(self) -> dict[str, Any]:
        # Overrides the prompt's tries_left in the operation view, so last_try must follow it.
        which = {"pin": self.pin} if self.pin else {}
        return {"tries_left": self.tries_left, "last_try": self.tries_left == 1, **which}

    def message(self, language: str) -> str:
        sentence = messages.text(_sentence(self.reason, self.pin, self.key), language,
                                 tries_left=self.tries_left)  # fmt: skip
        if self.tries_left == 1:
            sentence += " " + messages.text("last_try_" + self.key, language)
        return sentence


def _sentence(reason: str, pin: str | None, key: str) -> str:
    """A PIN error's catalogue key: the named key in a two-key operation, else the signing
    password by its own name and the login's PIN as the plain sentence."""
    if pin:
        return f"{reason}_{pin}"
    return f"{reason}_sign" if key == "sign" else reason


class PinLocked(BridgeError):
    """``6983`` or ``63C0``: only the municipal office can reset it (docs/jpki.md §5). ``pin`` and
    ``key`` as for :class:`WrongPin`."""

    reason = "pin_locked"

    def __init__(self, detail: str = "", pin: str | None = None, key: str | None = None) -> None:
        self.pin = pin
        self.key = key or pin or "auth"
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"pin": self.pin} if self.pin else {}

    def message(self, language: str) -> str:
        return messages.text(_sentence(self.reason, self.pin, self.key), language)


class Busy(BridgeError):
    """One card operation at a time."""

    reason = "busy"
    http_status = 409


class Cancelled(BridgeError):
    reason = "cancelled"


class Abandoned(BridgeError):
    """The page that started the operation said it is gone (reloaded, closed, navigated away)
    before it collected the result: no PIN is taken any more, and a signature made meanwhile is
    dropped rather than kept for a page that will never post it (bridge-protocol.md)."""

    reason = "abandoned"


class PinTimeout(BridgeError):
    reason = "pin_timeout"


class BadRequest(BridgeError):
    """A request the bridge refuses before anything starts. ``field`` names the member at fault
    and ``detail`` says why in English, for the page's developer (the message is for people)."""

    reason = "bad_request"
    http_status = 400

    def __init__(self, detail: str = "", field: str | None = None) -> None:
        self.field = field
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        found = {"field": self.field} if self.field else {}
        return {**found, "detail": self.detail} if self.detail else found


class ForbiddenOrigin(BridgeError):
    reason = "forbidden_origin"
    http_status = 403


class ForbiddenHost(BridgeError):
    reason = "forbidden_host"
    http_status = 403


class NotFound(BridgeError):
    reason = "not_found"
    http_status = 404


class RateLimited(BridgeError):
    reason = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, round(retry_after))
        super().__init__(f"retry in {self.retry_after} s")

    def extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}
