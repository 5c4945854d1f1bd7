"""Durable model: the government-held data of one account, one row per category.

Loaded by the operator (``idp selfinfo import``), keyed by the card-linked account, never by the
My Number. ``data`` is the category's JSON document as its schema describes it; ``content_hash``
(SHA-256 of its canonical JSON, with the ``as_of`` the import gave) makes a repeated import a
no-op.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, owned_by_account, stamped


class SelfInformation(db.Model):
    __tablename__ = "self_information"
    __table_args__ = (UniqueConstraint("account_id", "category", name="uq_selfinfo_category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = owned_by_account(index=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    as_of: Mapped[str] = mapped_column(String(10), nullable=False)
    """ISO date the data describes (the import's ``as_of``, else the day it was loaded): a
    service must be able to tell last year's income from this year's."""
    updated_at: Mapped[int] = stamped()

    def document(self) -> dict[str, Any]:
        return json.loads(self.data)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept (hashes must not depend on
    how the import file was formatted)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: Any, as_of: str | None) -> str:
    """SHA-256 hex of what an import says: the data and the ``as_of`` it gave (None if it gave
    none, so re-importing the same file on another day is still unchanged)."""
    canonical = canonical_json({"as_of": as_of, "data": data})
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_self_information(account_id: str, category: str) -> SelfInformation | None:
    query = select(SelfInformation).filter_by(account_id=account_id, category=category)
    return db.session.execute(query).scalar_one_or_none()
