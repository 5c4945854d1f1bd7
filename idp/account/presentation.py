"""How the account pages say things: items in plain words, how an approval was made and what
kind of delivery a history line is. Times and periods are written by ``idp.web.formats``, as on
every page.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from ..consent.decisions import AUTH_SESSION, AUTH_SIGN, AUTH_STEP_UP, DOCUMENT_PREFIX
from ..consent.items import describe
from ..consent.items import kind as item_kind
from ..web.services import in_language

APPROVALS = {
    AUTH_STEP_UP: _("With your card"),
    AUTH_SIGN: _("With your card"),
    AUTH_SESSION: _("At login"),
}
KINDS = {
    "token": _("When you logged in"),
    "claims": _("When you logged in"),
    "userinfo": _("Profile read"),
    "selfinfo": _("Self-information read"),
    "verified_claims": _("Verified identity"),
    "document_signature": _("Document signature"),
}


def approval(auth_method: str) -> str:
    return str(APPROVALS.get(auth_method, _("Other")))


def kind(name: str) -> str:
    return str(KINDS.get(name, _("Other")))


ITEM_ORDER = ("identifier", "claim", "selfinfo", "verified", "other")


def items(joined: str | list[str], titles: str | None = None) -> list[str]:
    """Item ids (a list, or joined by spaces as access records keep them) in plain words, in
    the consent screen's order: the identifier, claims, self-information, verified identity.
    A signed document's record may keep its title per language (``titles``): the page's."""
    if isinstance(joined, str) and joined.startswith(DOCUMENT_PREFIX):
        title = in_language(titles, joined[len(DOCUMENT_PREFIX) :])
        return [describe(DOCUMENT_PREFIX + title)]  # one document, its title free text
    ids = joined.split() if isinstance(joined, str) else joined
    return [describe(item) for item in sorted(ids, key=_rank)]


def _rank(item_id: str) -> int:
    group = item_kind(item_id)
    return ITEM_ORDER.index(group) if group in ITEM_ORDER else len(ITEM_ORDER)


def helpers() -> dict:
    """What the templates call."""
    return {"approval": approval, "kind": kind, "items": items}
