"""Forgetting dead token families: ``idp tokens purge``.

A token family (``TokenFamily``) is one redeemed code and its refresh tokens (one if DPoP-bound);
its ``grant`` holds the userinfo claims of the authorization. Once it has expired
(``tokens.refresh_token`` after the code was redeemed) or been revoked (refresh-token reuse,
logout, a withdrawn consent), nothing can use it again: a refresh token of it is refused as
``invalid_grant`` whether its row is there or not, and a replayed code finds nothing to revoke.
Such a family is deleted with its refresh tokens ``GRACE`` seconds after it died, so a refresh
already in flight on a node whose clock lags a little never writes to a family that is gone.

Several nodes may run it at once, and as often as they like: ids are selected in bounded batches,
and both DELETEs repeat the selection's condition, so rows another run deleted meanwhile are
counted once, by that run. A live family never matches. The citizens' access history does not
refer to families: it stays whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select

from ..storage.db import db
from ..storage.models import RefreshToken, TokenFamily

BATCH_SIZE = 500
"""Families per transaction (each with its refresh tokens: one, or one per rotation)."""
GRACE = 300
"""Seconds a dead family is kept: more than the clock skew between nodes (operators.md §6)."""

_F, _T = TokenFamily, RefreshToken


@dataclass(frozen=True)
class Purged:
    """What a run did (or, dry, would do): counts only."""

    families: int
    refresh_tokens: int


def dead(now: int) -> ColumnElement[bool]:
    """Families expired or revoked more than ``GRACE`` seconds before ``now``."""
    cutoff = now - GRACE
    return or_(_F.expires_at <= cutoff, _F.revoked_at <= cutoff)


def purge(now: int, batch_size: int = BATCH_SIZE, dry_run: bool = False) -> Purged:
    """Delete dead families and their refresh tokens; dry, count them and change nothing."""
    condition = dead(now)
    if dry_run:
        families = select(func.count()).select_from(_F).where(condition)
        tokens = select(func.count()).select_from(_T).join(_F, _T.family_id == _F.id)
        return Purged(
            db.session.scalar(families) or 0, db.session.scalar(tokens.where(condition)) or 0
        )
    families = tokens = 0
    while ids := list(db.session.scalars(select(_F.id).where(condition).limit(batch_size))):
        gone, gone_tokens = delete_batch(ids, condition)
        db.session.commit()
        if not gone:  # another node took this batch: it goes on, the next run finds the rest
            break
        families, tokens = families + gone, tokens + gone_tokens
    return Purged(families, tokens)


def delete_batch(ids: list[str], condition: ColumnElement[bool]) -> tuple[int, int]:
    """Delete the selected families that still meet ``condition``, refresh tokens first (SQLite
    does not cascade); (families, refresh tokens) deleted. The caller commits."""
    still_dead = select(_F.id).where(_F.id.in_(ids), condition)
    tokens = db.session.execute(
        delete(_T).where(_T.family_id.in_(still_dead)).execution_options(synchronize_session=False)
    ).rowcount
    families = db.session.execute(
        delete(_F).where(_F.id.in_(ids), condition).execution_options(synchronize_session=False)
    ).rowcount
    return families, tokens
