"""Why a consent page refuses to go on, beside the card login's refusals it reuses.

A refusal on the consent screen changes nothing: the consent transaction stays pending (unless it
is gone), so the page offers to go back to the request and to give up ("Back to the service",
which answers ``access_denied``). Refusals of the JPKI core (expired, revoked, on hold, service
unavailable, timeout…) are those every card page shares (``idp.web.refusals``), shown with the
consent's buttons; the kinds below are the consent's own.
"""

from __future__ import annotations

from ..web.refusals import BRIDGE_OUTDATED, CARD_CHECK, NOT_CONFIGURED, Refusal

GONE = Refusal("consent_gone", retry=False, status=400)
"""No pending consent for this browser: expired, answered already, or another browser's."""
CARD_NEEDED = Refusal("card_needed", retry=True, status=400)
"""Per-request items approved without the card step (a form posted without the script)."""
NO_CARD_STEP = Refusal("no_card_step", retry=True, status=400)
"""A card result with no card step under way: it was used already, or took too long."""
CHANGED = Refusal("changed", retry=True, status=400)
"""The items posted are not the ones the card signed for."""
ANOTHER_CARD = Refusal("another_card", retry=True, status=403)
"""The card that signed (its authentication certificate, for a step-up or the double proof of
verified identity) is not the one this account logged in with."""

OWN = {r.kind: r for r in (GONE, CARD_NEEDED, NO_CARD_STEP, CHANGED, ANOTHER_CARD)}
SHOWN_AGAIN = {
    r.kind: r
    for r in (*CARD_CHECK, BRIDGE_OUTDATED, NOT_CONFIGURED, *OWN.values())
    if r is not GONE
}
"""Refusals of a pending consent that ``GET /consent/<id>/refused/<kind>`` shows again (the
other language; a locked PIN reported by the bridge): all but a consent that is gone."""
