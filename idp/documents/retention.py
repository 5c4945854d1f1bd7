"""Forgetting document requests (docs/documents.md §Keeping): ``idp documents purge``.

A request holds personal data: the submitted PDF and the prepared copy while it waits, and once
signed the CMS and the signed PDF, whose signer certificate carries the citizen's basic four
facts. APPI Art. 22 asks to erase personal data once it is no longer needed, so:

- a declined request, or a pending one past ``expires_at``, can never be signed: its PDFs and
  prepared data are dropped by the next run ("cleared"; an expired one ``CLOCK_SKEW`` after its
  deadline);
- every finished request is deleted ``documents.retention_days`` after it ended (``signed_at``
  for a signed one, ``expires_at`` for a declined or expired one), so the service can fetch the
  outcome in the meantime; then ``GET /documents/<id>`` answers 404 as for an unknown id.

Several nodes may run it at once, and as often as they like: ids are selected in bounded batches
(never the rows or their blobs), and every UPDATE or DELETE repeats the selection's condition, so
a row that changed in between (signed meanwhile) is left alone. A pending request before its
deadline never matches. The access history does not refer to requests: it stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Delete, Update, and_, delete, func, not_, or_, select, update

from ..storage.db import db
from ..storage.documents import DECLINED, PENDING, SIGNED, DocumentRequest

DAY = 86400
BATCH_SIZE = 500
"""Rows per statement (and per transaction): short locks, bounded memory (ids only)."""
CLOCK_SKEW = 300
"""Seconds past ``expires_at`` before a pending request counts as expired here: a web node whose
clock lags by less (operators.md §6 asks for NTP) can no longer prepare or finish it."""

_R = DocumentRequest
_BLOBS = ("pdf", "prepared_pdf", "prepared_attrs", "prepared_digest", "prepared_range")
"""What only an unfinished signature needs: the submitted PDF and the prepared attempt."""


@dataclass(frozen=True)
class Purged:
    """What a run did (or, dry, would do): counts only, never anything of the requests."""

    deleted: int
    cleared: int


def deletable(now: int, retention: int) -> ColumnElement[bool]:
    """Finished requests whose retention (seconds) is over; never a pending one before its end."""
    cutoff = now - retention
    return or_(
        and_(_R.status == SIGNED, _R.signed_at <= cutoff),
        and_(_R.status == DECLINED, _R.expires_at <= cutoff),
        and_(_R.status == PENDING, _R.expires_at <= min(cutoff, now - CLOCK_SKEW)),
    )


def clearable(now: int) -> ColumnElement[bool]:
    """Declined or expired requests still holding a PDF or a prepared attempt."""
    over = or_(_R.status == DECLINED, and_(_R.status == PENDING, _R.expires_at <= now - CLOCK_SKEW))
    return and_(over, or_(*(getattr(_R, name).is_not(None) for name in _BLOBS)))


def delete_batch(ids: list[str], condition: ColumnElement[bool]) -> Delete:
    """The DELETE of the selected ``ids`` that still meet ``condition`` when it runs."""
    return delete(_R).where(_R.id.in_(ids), condition).execution_options(synchronize_session=False)


def clear_batch(ids: list[str], condition: ColumnElement[bool]) -> Update:
    """The UPDATE dropping the PDFs and prepared data of the selected ``ids`` that still meet
    ``condition`` when it runs."""
    return (
        update(_R)
        .where(_R.id.in_(ids), condition)
        .values(dict.fromkeys(_BLOBS))
        .execution_options(synchronize_session=False)
    )


def purge(now: int, retention: int, batch_size: int = BATCH_SIZE, dry_run: bool = False) -> Purged:
    """Delete what is past ``retention`` seconds, then clear what can never be signed.

    Dry, it counts the same rows (those a run at ``now`` would change) and changes nothing."""
    gone, dead = deletable(now, retention), clearable(now)
    if dry_run:
        return Purged(_count(gone), _count(and_(dead, not_(gone))))
    return Purged(
        _in_batches(gone, delete_batch, batch_size), _in_batches(dead, clear_batch, batch_size)
    )


def _count(condition: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count()).select_from(_R).where(condition)) or 0


def _in_batches(condition: ColumnElement[bool], statement, batch_size: int) -> int:
    """Apply ``statement(ids, condition)`` batch by batch, one transaction each; rows changed.

    Ends when no row matches: each batch's rows stop matching (deleted, cleared, or changed by
    someone else), so the loop cannot come back to them. A batch that changed nothing (another
    node took it) ends it too: that node goes on, and the next run finds whatever is left."""
    changed = 0
    while ids := list(db.session.scalars(select(_R.id).where(condition).limit(batch_size))):
        result = db.session.execute(statement(ids, condition))
        db.session.commit()
        if not result.rowcount:
            break
        changed += result.rowcount
    return changed
