"""The card login's own refusals, and the page that shows any refusal of a login.

The card check's refusals (expired, revoked, service unavailable…) are the ones every card page
shares (``idp.web.refusals``); a login adds only its vanished transaction.
"""

from __future__ import annotations

from flask import g, url_for
from werkzeug.wrappers import Response

from ..web.pages import page
from ..web.refusals import CARD_CHECK, Refusal
from .transactions import CardLogin

TRANSACTION_GONE = Refusal("transaction_gone", retry=False, status=400)
"""No live login for this browser: expired, completed already, or another browser's."""

SHOWN_AGAIN = {r.kind: r for r in CARD_CHECK}
"""Refusals of a live transaction that can be shown again by GET, in the other language."""


def refused_page(refusal: Refusal, login: CardLogin | None = None) -> Response:
    """The page explaining ``refusal``; ``login`` lets it offer to try again."""
    path = None
    if login is not None:
        g.ui_locales = login.ui_locales
        if refusal.kind in SHOWN_AGAIN:
            path = url_for("login.refused", transaction=login.transaction, reason=refusal.kind)
    return page("login/refused.html", refusal.status, path=path, refusal=refusal, login=login)
