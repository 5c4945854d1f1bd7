"""Status changes from a new CRL: what it says differently from the indexes held before it.

When ``CrlUpdater`` ingests a full or delta CRL, the IdP compares what the indexes said of each
listed serial before (full CRL plus the delta that applied to it) with what they say now. The cost
is proportional to the CRLs compared, never to the number of accounts: a delta is compared entry by
entry; a new full CRL is walked once, each slot probed in the old index (a few microseconds per
entry), and the old one's holds are looked up in the new one. A full CRL with the number already
held is not compared.

What counts as a change (RFC 5280 §5.3.1, docs/jpki.md §3):

- good → certificateHold: ``ON_HOLD``; good or held → any other reason: ``REVOKED`` with it;
  revoked with another reason than before: ``REVOKED`` again with the new one;
- held → ``removeFromCRL`` or gone from the list: ``RELEASED``;
- revoked → gone: nothing (an expired certificate leaves the CRL; a revocation is final).

The first CRL of a type ever ingested has nothing to be compared with and gives no changes; the
listener learns of older revocations only from later CRLs or the feed (docs/operators.md §7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from idp.jpki.crl import CERTIFICATE_HOLD, REASON_NAMES, REMOVE_FROM_CRL, _applies
from idp.jpki.crl_extensions import entry_time
from idp.jpki.crl_index import HEADER, KEY, SLOT, CrlIndex, slot_of
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange, issuer_hash_of, serial_hex

GOOD = None
"""Listed nowhere (or released): the CRLs' good."""


@dataclass(frozen=True)
class Held:
    """The indexes of one type as they stood: the full CRL and the delta that applied to it."""

    full: CrlIndex | None
    delta: CrlIndex | None

    @classmethod
    def of(cls, full: CrlIndex | None, delta: CrlIndex | None) -> Held:
        if full is None or delta is None or not _applies(delta, full):
            return cls(full, None)
        return cls(full, delta)

    def entry(self, key: bytes) -> tuple[int, int] | None:
        """``(reason, when)`` the held CRLs give ``key``, None for good."""
        hit = self.delta.lookup(key) if self.delta is not None else None
        if hit is None and self.full is not None:
            hit = self.full.lookup(key)
        return None if hit is None or hit[0] == REMOVE_FROM_CRL else hit

    def released_explicitly(self, key: bytes) -> bool:
        hit = self.delta.lookup(key) if self.delta is not None else None
        return hit is not None and hit[0] == REMOVE_FROM_CRL


def entries(index: CrlIndex) -> Iterator[bytes]:
    """Every serial key an index lists, in table order (one pass over its slots)."""
    table = index.map
    for offset in range(HEADER, HEADER + index.capacity * SLOT, SLOT):
        if table[offset + KEY]:
            yield bytes(table[offset : offset + KEY]).lstrip(b"\x00")


def changes(
    before: Held,
    after: Held,
    kind: CertificateType,
    issuer: x509.Name,
    *,
    delta: bool,
    published: dt.datetime,
) -> list[StatusChange]:
    """What ``after`` says differently from ``before``, for the serials either lists."""
    if before.full is None:
        return []  # the first CRL: nothing to compare with
    if not delta and after.full is not None and after.full.number == before.full.number:
        return []  # the same full CRL again
    source = "delta-crl" if delta else "crl"
    issuer_hash = issuer_hash_of(issuer)
    found: list[StatusChange] = []
    for key in _candidates(before, after, before.full, after.full, delta=delta):
        change = _change(before, after, key, published)
        if change is not None:
            status, reason, when = change
            serial = serial_hex(int.from_bytes(key, "big"))
            found.append(StatusChange(issuer_hash, serial, kind, status, reason, when, source))
    return found


def _candidates(
    before: Held, after: Held, old: CrlIndex, new: CrlIndex | None, *, delta: bool
) -> Iterator[bytes]:
    """Each serial that may have changed, once: for a delta, those either delta lists; for a full
    CRL, the new one's whose entry differs from the old one's, then the old one's holds the new
    one lacks, then those of the deltas."""
    small: set[bytes] = set()
    for index in (before.delta, after.delta):
        if index is not None:
            small.update(entries(index))
    if not delta and new is not None:
        for key in (*_differing(new, old), *_vanished_holds(old, new)):
            if key not in small:
                yield key
    yield from sorted(small)


def _differing(new: CrlIndex, old: CrlIndex) -> Iterator[bytes]:
    """The serials whose slot in ``new`` (serial, reason, date) ``old`` does not hold as such:
    one inline probe of ``old`` per entry, the bulk of a full CRL's comparison."""
    table, end, theirs, capacity = new.map, HEADER + new.capacity * SLOT, old.map, old.capacity
    for offset in range(HEADER, end, SLOT):
        if not table[offset + KEY]:
            continue
        mine = table[offset : offset + SLOT]
        padded = mine[:KEY]
        index = slot_of(padded, capacity)
        while True:
            at = HEADER + index * SLOT
            if not theirs[at + KEY]:
                yield padded.lstrip(b"\x00")  # not listed before
                break
            if theirs[at : at + KEY] == padded:
                if theirs[at : at + SLOT] != mine:
                    yield padded.lstrip(b"\x00")  # listed with another reason or date
                break
            index = index + 1 if index + 1 < capacity else 0


def _vanished_holds(old: CrlIndex, new: CrlIndex) -> Iterator[bytes]:
    """The serials ``old`` listed on hold that ``new`` does not list at all."""
    table, hold = old.map, CERTIFICATE_HOLD + 1  # the slot stores reason + 1
    for offset in range(HEADER, HEADER + old.capacity * SLOT, SLOT):
        if table[offset + KEY] == hold:
            key = bytes(table[offset : offset + KEY]).lstrip(b"\x00")
            if new.lookup(key) is None:
                yield key


def _change(
    before: Held, after: Held, key: bytes, published: dt.datetime
) -> tuple[Status, str | None, dt.datetime] | None:
    old, new = before.entry(key), after.entry(key)
    if old == new:
        return None
    old_reason = None if old is None else old[0]
    if new is None:
        if old_reason != CERTIFICATE_HOLD:
            return None  # a revoked certificate that expired; a revocation is final
        reason = "removeFromCRL" if after.released_explicitly(key) else None
        return Status.RELEASED, reason, published
    reason, when = new
    at = entry_time(when) or published
    if reason == CERTIFICATE_HOLD:
        if old_reason is not None:
            return None  # revoked for good already; nothing is put back on hold
        return Status.ON_HOLD, "certificateHold", at
    if old_reason == reason:
        return None  # the same revocation, dated again
    return Status.REVOKED, REASON_NAMES.get(reason, "unspecified"), at


def anchor_named(anchors: tuple[x509.Certificate, ...], fingerprint: str) -> x509.Certificate:
    """The anchor an index was verified with (its metadata keeps the SHA-256 fingerprint)."""
    for anchor in anchors:
        if anchor.fingerprint(hashes.SHA256()).hex() == fingerprint:
            return anchor
    raise LookupError("the CRL's anchor is no longer configured")
