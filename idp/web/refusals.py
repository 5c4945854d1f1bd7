"""What the citizen is told when a card check is refused: one page per kind of reason.

``idp.jpki`` refuses with a typed error carrying a ``reason`` (errors.py); the bridge fails an
operation with its own reasons (docs/bridge-protocol.md, Errors). Each maps to a ``Refusal``:
the page's heading and advice, whether trying again can help, and the HTTP status. The kinds
below are those of the card login, which the consent's card steps share (the login's
templates/login/refused.html, extended by the consent's); packages add kinds of their own.
Reasons not listed get the generic page; nothing here leaks which check failed beyond what helps
the person act.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..jpki import errors


@dataclass(frozen=True)
class Refusal:
    """Why a page refuses to go on, for any package's refusal page (``web/refused.html``)."""

    kind: str
    """Selects the page's text: expired, revoked, on_hold, pin_locked, unavailable, timeout,
    not_accepted, generic, bad_request, bridge_outdated, not_configured, or a package's own."""
    status: int = 403
    """The page's HTTP status."""
    retry: bool = False
    """Whether the page offers to try again (the same transaction)."""


EXPIRED = Refusal("expired", retry=False)
REVOKED = Refusal("revoked", retry=False)
ON_HOLD = Refusal("on_hold", retry=False)
PIN_LOCKED = Refusal("pin_locked", retry=False)
UNAVAILABLE = Refusal("unavailable", retry=True, status=503)
TIMEOUT = Refusal("timeout", retry=True)
NOT_ACCEPTED = Refusal("not_accepted", retry=False)
GENERIC = Refusal("generic", retry=True)
BAD_REQUEST = Refusal("bad_request", retry=True, status=400)
BRIDGE_OUTDATED = Refusal("bridge_outdated", retry=True, status=400)
"""A one-key (protocol version 1) answer where both keys must sign (identity, documents)."""

CARD_CHECK = (EXPIRED, REVOKED, ON_HOLD, PIN_LOCKED, UNAVAILABLE, TIMEOUT, NOT_ACCEPTED, GENERIC,
              BAD_REQUEST)  # fmt: skip
"""The card check's refusals that a page can show again by GET, for a transaction still live
(in the other language; a locked PIN the bridge reported)."""

SERVICE_PROBLEMS = (
    errors.ResponderUnavailable,  # unreachable, timeout, HTTP error, garbage
    errors.CrlUnavailable,
    errors.CrlRejected,
    errors.ResponseStale,
    errors.ResponseBadSignature,
    errors.ResponseMismatch,
    errors.NonceMismatch,
)
"""The revocation status could not be established: the card may be fine, the check was not."""

BY_CLASS: tuple[tuple[type[errors.JpkiValidationError], Refusal], ...] = (
    (errors.CertificateExpired, EXPIRED),
    (errors.CertificateRevoked, REVOKED),
    (errors.CertificateOnHold, ON_HOLD),
    *((kind, UNAVAILABLE) for kind in SERVICE_PROBLEMS),
    (errors.ChallengeExpired, TIMEOUT),
    (errors.UntrustedIssuer, NOT_ACCEPTED),
    (errors.WrongCertificateType, NOT_ACCEPTED),
    (errors.BridgeOutdated, BRIDGE_OUTDATED),
)


def refusal_for(
    error: errors.JpkiValidationError,
    by_class: tuple[tuple[type[errors.JpkiValidationError], Refusal], ...] = BY_CLASS,
    otherwise: Refusal = GENERIC,
) -> Refusal:
    """The page for a validator refusal: the first of ``by_class`` whose class ``error`` is."""
    for kind, refusal in by_class:
        if isinstance(error, kind):
            return refusal
    return otherwise


NOT_CONFIGURED = Refusal("not_configured", retry=False, status=503)
"""No trust anchors for the authentication CA: no card can be checked on this server."""
