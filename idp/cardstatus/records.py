"""What the account page reads of the card status events: one account's, newest first."""

from __future__ import annotations

from sqlalchemy import select

from ..storage.card_status import CardStatusEvent
from ..storage.db import db

SHOWN = 50
"""Events the page lists: far more than a card goes through in its life."""


def card_history(account_id: str, limit: int = SHOWN) -> list[CardStatusEvent]:
    """The account's card status events, the newest change at the CA first."""
    query = (
        select(CardStatusEvent)
        .where(CardStatusEvent.account_id == account_id)
        .order_by(CardStatusEvent.changed_at.desc(), CardStatusEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())
