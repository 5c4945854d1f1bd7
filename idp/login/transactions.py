"""The card login's own record of a login transaction, beside the OIDC core's.

``CardAuthenticator.begin`` keeps what the pages need (the service's name, the relying party's
language hint, the browser that started it) under ``card-login:<id>`` in the ephemeral store,
with the login transaction's TTL. Every page checks that the same browser asks: the id appears
in URLs, so it must not be enough on its own.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict, dataclass

from flask import session

from ..jpki.store import EphemeralStore

PREFIX = "card-login:"
CORE_PREFIX = "login:"
"""Where ``idp.oidc.authorize`` keeps the login transaction that ``finish_login`` consumes."""
MAX_SERVICE_NAME = 80
"""The bridge shows at most 80 characters of the service's name (bridge-protocol.md)."""


@dataclass(frozen=True)
class CardLogin:
    transaction: str
    service: str
    browser: str
    ui_locales: str = ""


def service_name(name: str) -> str:
    """The client's registered name as the bridge accepts it: printable, 1-80 characters."""
    printable = "".join(c for c in name if c.isprintable()).strip()
    return (printable or "?")[:MAX_SERVICE_NAME]


def save(store: EphemeralStore, login: CardLogin, ttl: float) -> None:
    record = {k: v for k, v in asdict(login).items() if k != "transaction"}
    store.set(PREFIX + login.transaction, json.dumps(record).encode(), ttl)


def load(store: EphemeralStore, transaction: str) -> CardLogin | None:
    """The live record of ``transaction`` if this browser started it."""
    if not isinstance(transaction, str) or not 20 <= len(transaction) <= 64:
        return None
    raw = store.get(PREFIX + transaction)
    if raw is None or store.get(CORE_PREFIX + transaction) is None:
        return None  # ours outlives the core's by moments; a proof then would be for nothing
    record = json.loads(raw)
    if not hmac.compare_digest(str(session.get("browser", "")), record["browser"]):
        return None
    return CardLogin(transaction=transaction, **record)


def forget(store: EphemeralStore, transaction: str) -> None:
    store.delete(PREFIX + transaction)
