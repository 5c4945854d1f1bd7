"""The card login's view of a login transaction: what its pages show, for this browser only.

The OIDC core keeps the one record of a login transaction (``idp.oidc.authorize``, with the
service's name, the relying party's language hint and the browser that started it);
``load`` reads it through ``pending_login``, one round trip to the store per page. The card
login keeps no record of its own: one fewer write per login and one fewer read per page, and
nothing of ours can outlive the core's record, which ``finish_login`` and ``cancel_login``
consume. The id appears in URLs, so it is never enough on its own: ``pending_login`` checks
that the browser that started the transaction asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..jpki.store import EphemeralStore
from ..oidc.authorize import pending_login
from ..web.bridge import service_name


@dataclass(frozen=True)
class CardLogin:
    transaction: str
    service: str
    ui_locales: str = ""


def load(store: EphemeralStore, transaction: str) -> CardLogin | None:
    """The live transaction ``transaction`` if this browser started it."""
    found = pending_login(store, transaction)
    if found is None:
        return None
    return CardLogin(
        transaction=found.id, service=service_name(found.client_name), ui_locales=found.ui_locales
    )
