"""Which failures mean a store cannot be reached or did not answer in time (an outage: 503 and
one log line), as opposed to a bug (500 and its traceback).

PostgreSQL refusing or dropping connections, a statement cancelled after
``timeouts.database_statement``, the pool busy past ``timeouts.database_pool``; Redis refusing,
timing out, loading, full (``noeviction``) or read-only. SQLite's only such state is a lock held
too long; its other ``OperationalError`` (a missing table, say) is a fault, not an outage.
"""

from __future__ import annotations

import redis.exceptions
from sqlalchemy import exc as sa

REDIS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)
DATABASE = (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError)
EXCEPTIONS = REDIS + DATABASE
"""Every exception type that may be an outage (``unavailable`` decides)."""


def unavailable(error: BaseException) -> str | None:
    """``"redis"`` or ``"database"`` when ``error`` is that store's outage; None otherwise."""
    if isinstance(error, REDIS):
        return "redis"
    if not isinstance(error, DATABASE):
        return None
    sqlite = isinstance(error, sa.DBAPIError) and type(error.orig).__module__.startswith("sqlite3")
    if sqlite and not error.connection_invalidated:
        message = str(error.orig).lower()
        return "database" if "locked" in message or "busy" in message else None
    return "database"


def reason(error: BaseException) -> str:
    """A short, data-free account of ``error`` for the log: the driver's exception type and the
    first line of its message, never SQL or its parameters (they may hold personal data)."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first[:200]}"
