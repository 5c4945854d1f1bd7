"""Certificate status from the CRL indexes (RFC 5280 §6.3), shared by every IdP process.

Fail closed: no CRL, or a CRL (or applicable delta) past its nextUpdate, answers
``crl_unavailable``. A delta applies when it builds on the full CRL held and is newer than it
(§5.2.4); its ``removeFromCRL`` entries release holds, its other entries add to the list.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from idp.jpki.crl_extensions import entry_time
from idp.jpki.crl_index import CrlIndex, IndexError_
from idp.jpki.der import serial_key
from idp.jpki.errors import CertificateOnHold, CertificateRevoked, CrlUnavailable
from idp.jpki.settings import CertificateType

CERTIFICATE_HOLD = 6
REMOVE_FROM_CRL = 8
REASON_NAMES = {
    0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
    4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
    9: "privilegeWithdrawn", 10: "aACompromise", 0xFF: "unspecified",
}  # fmt: skip


def index_paths(folder: Path, kind: CertificateType) -> tuple[Path, Path]:
    """``KIND-full.idx`` and ``KIND-delta.idx`` in the shared index folder."""
    return Path(folder) / f"{kind}-full.idx", Path(folder) / f"{kind}-delta.idx"


@dataclass(frozen=True)
class CrlAnswer:
    """A *good* answer: how it was established, for the login record."""

    number: int
    this_update: dt.datetime
    next_update: dt.datetime
    delta_number: int | None


class CrlStatusSource:
    """Reads the indexes of one certificate type; re-opens them when a refresh replaced them."""

    def __init__(self, folder: Path, kind: CertificateType) -> None:
        self.kind = kind
        self.full_path, self.delta_path = (str(p) for p in index_paths(folder, kind))
        self._open: dict[str, CrlIndex] = {}

    def _index(self, path: str) -> CrlIndex | None:
        """The index at ``path``, re-opened only when a refresh renamed a new file over it."""
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            self._open.pop(path, None)
            return None
        held = self._open.get(path)
        if held is not None and held.identity == (stat.st_ino, stat.st_mtime_ns, stat.st_size):
            return held
        try:
            index = CrlIndex(path)
        except (FileNotFoundError, IndexError_, KeyError, ValueError):
            return None
        self._open[path] = index
        return index

    def held_numbers(self) -> tuple[int | None, int | None]:
        full, delta = self._index(self.full_path), self._index(self.delta_path)
        return (full.number if full else None, delta.number if delta else None)

    def next_update(self) -> dt.datetime | None:
        full = self._index(self.full_path)
        return full.next_update if full else None

    def check(self, serial: int, now: dt.datetime) -> CrlAnswer:
        """Good, or raise revoked / on hold / unavailable."""
        full = self._index(self.full_path)
        if full is None:
            raise CrlUnavailable(f"no {self.kind} CRL has been loaded")
        _check_fresh(full, now)
        delta = self._index(self.delta_path)
        if delta is not None and not _applies(delta, full):
            delta = None
        if delta is not None:
            _check_fresh(delta, now)
        key = serial_key(serial)
        hit = delta.lookup(key) if delta is not None else None
        if hit is None:
            hit = full.lookup(key)
        if hit is not None and hit[0] != REMOVE_FROM_CRL:
            _refuse(*hit)
        return CrlAnswer(
            full.number, full.this_update, full.next_update, delta.number if delta else None
        )


def _applies(delta: CrlIndex, full: CrlIndex) -> bool:
    return delta.delta_base is not None and delta.delta_base <= full.number < delta.number


def _check_fresh(index: CrlIndex, now: dt.datetime) -> None:
    if now >= index.next_update:
        raise CrlUnavailable(
            f"the CRL held expired at {index.next_update.isoformat()}; fail closed"
        )


def _refuse(reason: int, when: int) -> None:
    if reason == CERTIFICATE_HOLD:
        raise CertificateOnHold("listed with certificateHold on the CRL")
    revoked_at = entry_time(when)
    name = REASON_NAMES.get(reason, "unspecified")
    raise CertificateRevoked(
        f"revoked ({name}) per the CRL", revocation_reason=name, revoked_at=revoked_at
    )
