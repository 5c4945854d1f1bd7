"""A change of a card certificate's status at the CA, as the IdP learns of it.

The IdP hears of revocations without asking about each account: from the new entries of each
full or delta CRL (against the index it already holds) and, where the operator has one, from a
revocation-notification feed. Both produce ``StatusChange`` values and hand them to a
``StatusListener``; the IdP's listener finds the account bound to the certificate by issuer and
serial (an index lookup per change) and acts on it. The reason is kept as the CA gave it, because
each one means something different to a relying party (lost card, suspension, moved house,
renewal), all the way to the Shared Signals event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from cryptography import x509

from idp.jpki.settings import CertificateType


class Status(StrEnum):
    """What the CA now says of the certificate."""

    REVOKED = "revoked"
    """For good (any reason but certificateHold)."""
    ON_HOLD = "on_hold"
    """Suspended (certificateHold): may be released."""
    RELEASED = "released"
    """A hold lifted (removeFromCRL, or gone from the list / feed): good again."""


@dataclass(frozen=True)
class StatusChange:
    """One certificate's new status, keyed the way the IdP binds certificates to accounts."""

    issuer_hash: str
    """SHA-256 hex of the issuer Name's DER (as ``certificate_binding.issuer_hash``)."""
    serial: str
    """Upper-case hex, no leading zeros stripped beyond Python's ``%X`` (as the bindings)."""
    kind: CertificateType
    status: Status
    reason: str | None
    """RFC 5280 CRLReason name as the CA gave it (``keyCompromise``, ``certificateHold``,
    ``removeFromCRL``, ``affiliationChanged``, ``superseded``, ``cessationOfOperation``,
    ``unspecified``...); None where the source gave none."""
    changed_at: dt.datetime
    """When the CA made the change (revocationDate / the feed's time), timezone-aware UTC."""
    source: str
    """Where the IdP learnt it: ``crl``, ``delta-crl``, ``feed`` or ``ocsp``."""


class StatusListener(Protocol):
    """Told of status changes in batches, in the order the source gave them."""

    def changed(self, changes: Sequence[StatusChange]) -> None: ...


def issuer_hash_of(name: x509.Name) -> str:
    """The binding key of an issuer: SHA-256 hex of its Name's DER."""
    return hashlib.sha256(name.public_bytes()).hexdigest()


def serial_hex(serial: int) -> str:
    """The binding key of a serial number: upper-case hex."""
    return f"{serial:X}"
