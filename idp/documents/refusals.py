"""What the citizen is told when a document cannot be reviewed or signed: one kind per page.

Validator refusals (``idp.jpki.errors``) map to a few kinds the citizen can act on; nothing here
says more about which check failed than helps. ``retry``: the review page can be tried again
(the request is still pending).
"""

from __future__ import annotations

from ..jpki import errors
from ..web import refusals as shared
from ..web.refusals import SERVICE_PROBLEMS, Refusal

NOT_FOUND = Refusal("not_found", 404)
ANOTHER_PERSON = Refusal("another_person", 403)
SIGNED = Refusal("signed", 409)
DECLINED = Refusal("declined", 409)
EXPIRED = Refusal("expired", 410)
UNAVAILABLE = Refusal("unavailable", 503)
CERTIFICATE_EXPIRED = Refusal("certificate_expired", 403)
REVOKED = Refusal("revoked", 403)
ON_HOLD = Refusal("on_hold", 403)
CHECK_UNAVAILABLE = Refusal("check_unavailable", 503, retry=True)
CHANGED = Refusal("changed", 400, retry=True)
NOT_ACCEPTED = Refusal("not_accepted", 403)
PIN_LOCKED = Refusal("pin_locked", 403)
AUTH_PIN_LOCKED = Refusal("auth_pin_locked", 403)
ANOTHER_CARD = Refusal("another_card", 403, retry=True)
"""The signing key is not on the card the citizen logged in with (docs/bridge-protocol.md §9)."""
BRIDGE_OUTDATED = Refusal("bridge_outdated", 400, retry=True)
"""A one-key (version 1) answer: the citizen's bridge must be updated."""
TIMESTAMP_UNAVAILABLE = Refusal("timestamp_unavailable", 503, retry=True)
"""The time-stamping authority or the revocation data for the document's PAdES level could not
be had: nothing was delivered at a lower level."""
GENERIC = Refusal("generic", 400, retry=True)
BAD_REQUEST = Refusal("bad_request", 400, retry=True)

FINISHED = {"signed": SIGNED, "declined": DECLINED, "expired": EXPIRED}

BY_CLASS: tuple[tuple[type[errors.JpkiValidationError], Refusal], ...] = (
    (errors.CertificateExpired, CERTIFICATE_EXPIRED),
    (errors.CertificateRevoked, REVOKED),
    (errors.CertificateOnHold, ON_HOLD),
    (errors.StatusUnknown, REVOKED),
    *((kind, CHECK_UNAVAILABLE) for kind in SERVICE_PROBLEMS),
    (errors.BridgeOutdated, BRIDGE_OUTDATED),
    (errors.DigestMismatch, CHANGED),
    (errors.OriginMismatch, CHANGED),
    (errors.BadSignature, CHANGED),
    (errors.UntrustedIssuer, NOT_ACCEPTED),
    (errors.WrongCertificateType, NOT_ACCEPTED),
)


def refusal_for(error: errors.JpkiValidationError) -> Refusal:
    """The page for a validator refusal of a signature (templates/documents/refused.html)."""
    return shared.refusal_for(error, BY_CLASS, GENERIC)
