"""Transactions bound to one browser: a login or a consent in progress, kept in the ephemeral store.

A transaction's id appears in URLs, so it is never enough on its own: its record carries a random
value that is also in the session cookie of the browser that started it (``session["browser"]``),
and only that browser may read or finish it. ``bind`` stamps a record with this browser,
``is_mine`` checks one, ``valid_id`` bounds an id before it reaches the store, and ``pending``
reads a record for this browser without consuming it. The login transaction
(``idp.oidc.authorize``) and the consent transaction (``idp.consent.consenting``) are both kept
this way; each decides for itself what holding, finishing or refusing one means.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from flask import session

from ..storage.ephemeral import EphemeralStore

BROWSER = "browser"
"""The session member, and the record member, that bind a transaction to a browser."""


def valid_id(transaction_id: object) -> bool:
    """A transaction id as this IdP makes them (``secrets.token_urlsafe(32)``), give or take."""
    return isinstance(transaction_id, str) and 20 <= len(transaction_id) <= 64


def bind(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` bound to this browser (which gets its random value now, if it had none)."""
    return {**record, BROWSER: session.setdefault(BROWSER, secrets.token_urlsafe(16))}


def is_mine(record: Mapping[str, Any]) -> bool:
    """The record was bound to this browser."""
    browser = record.get(BROWSER)
    return isinstance(browser, str) and hmac.compare_digest(str(session.get(BROWSER, "")), browser)


def pending(store: EphemeralStore, key_prefix: str, transaction_id: str) -> dict | None:
    """The live record of ``transaction_id`` if this browser started it; not consumed."""
    raw = store.get(key_prefix + transaction_id) if valid_id(transaction_id) else None
    record = json.loads(raw) if raw else None
    return record if record is not None and is_mine(record) else None
