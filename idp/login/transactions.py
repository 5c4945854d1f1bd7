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
from ..web.services import localized


@dataclass(frozen=True)
class CardLogin:
    transaction: str
    client_name: str
    ui_locales: str = ""
    client_id: str = ""

    @property
    def service(self) -> str:
        """The service's name as the pages and the bridge show it, in the page's language
        (asked for only when a page renders, once the transaction's ``ui_locales`` is known)."""
        name = self.client_name  # the IdP's own login has no client to name in other words
        if self.client_id:
            name = localized(self.client_id, "client_name", name) or name
        return service_name(name)


def load(store: EphemeralStore, transaction: str) -> CardLogin | None:
    """The live transaction ``transaction`` if this browser started it."""
    found = pending_login(store, transaction)
    if found is None:
        return None
    return CardLogin(found.id, found.client_name, found.ui_locales, found.client_id)
