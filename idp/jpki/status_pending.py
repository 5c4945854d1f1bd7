"""Status changes a new CRL brought that the listener could not take yet, kept until it can.

A CRL's changes are found by comparing the new index with the one it replaced, so once the new
index is in place they cannot be found again. If the listener fails then (the database is down,
say), the changes would be lost and the revoked card's sessions and refresh tokens would live on:
so they are written to ``KIND.pending`` beside the indexes (shared by every process of the
machine, under the type's CRL lock) and handed on again, before anything newer, at the next
refresh round until the listener takes them. The listener is idempotent, so a change handed twice
does no harm.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange, StatusListener

log = logging.getLogger(__name__)


def pending_path(folder: Path, kind: CertificateType) -> Path:
    return Path(folder) / f"{kind}.pending"


def keep(folder: Path, kind: CertificateType, changes: Sequence[StatusChange]) -> None:
    """Add ``changes`` to the type's pending list (the caller holds the type's CRL lock)."""
    path = pending_path(folder, kind)
    with path.open("a", encoding="utf-8") as out:
        for change in changes:
            out.write(json.dumps(_as_json(change)) + "\n")
        out.flush()
        os.fsync(out.fileno())


def pending(folder: Path, kind: CertificateType) -> list[StatusChange]:
    """The type's pending changes, oldest first; a damaged line is logged and skipped."""
    try:
        lines = pending_path(folder, kind).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(_from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            log.error("a damaged pending status change was skipped: %.200r", line)
    return found


def hand(
    folder: Path, kind: CertificateType, listener: StatusListener, new: Sequence[StatusChange]
) -> bool:
    """Tell ``listener`` the pending changes, then ``new``, in one batch; on success the pending
    list is emptied, on failure ``new`` joins it. True if the listener took them."""
    held = pending(folder, kind)
    batch = [*held, *new]
    if not batch:
        return True
    try:
        listener.changed(batch)
    except Exception:  # kept for the next round; the refresh itself has succeeded
        log.exception("%d status changes of the %s CRLs not handled; kept", len(batch), kind)
        if new:
            keep(folder, kind, new)
        return False
    if held:
        pending_path(folder, kind).unlink(missing_ok=True)
        log.info("%d pending status changes of the %s CRLs handled", len(held), kind)
    return True


def _as_json(change: StatusChange) -> dict:
    return {
        "issuer_hash": change.issuer_hash,
        "serial": change.serial,
        "kind": str(change.kind),
        "status": str(change.status),
        "reason": change.reason,
        "changed_at": change.changed_at.isoformat(),
        "source": change.source,
    }


def _from_json(data: dict) -> StatusChange:
    changed_at = dt.datetime.fromisoformat(data["changed_at"])
    if changed_at.tzinfo is None:
        raise ValueError("naive time")
    return StatusChange(
        issuer_hash=str(data["issuer_hash"]),
        serial=str(data["serial"]),
        kind=CertificateType(data["kind"]),
        status=Status(data["status"]),
        reason=None if data["reason"] is None else str(data["reason"]),
        changed_at=changed_at,
        source=str(data["source"]),
    )
