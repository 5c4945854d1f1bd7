"""How the account page says what happened to the card, and what it means for the citizen.

Each event is told by its certificate (the one for logging in, or the signing one), what the CA
did and why (a loss report, a suspension and its release, a renewal, a change of the facts on
the card), and what the IdP did about it. The reasons are the CA's own (docs/jpki.md §3), kept
apart as docs/card-status.md §2 lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _

from ..storage.card_status import CardStatusEvent
from .records import card_history

CERTIFICATES = {
    "auth": _("For logging in (user-authentication certificate)"),
    "sign": _("For identity verification and signing (signing certificate)"),
}
LABELS = {
    "lost": _("Reported lost or stolen"),
    "hold": _("Suspended"),
    "released": _("Suspension lifted"),
    "renewed": _("Renewed"),
    "facts": _("Facts on the card changed"),
    "revoked": _("Revoked"),
}
MEANINGS = {
    ("auth", "lost"): _(
        "Your card was reported lost or stolen, and its certificate for logging in was revoked."
        " Every login with it ended and the services you used were told. If you did not report"
        " it, contact your municipal office (市区町村の窓口) at once."
    ),
    ("auth", "hold"): _(
        "Your card was suspended. Every login with it ended and the services you used were told."
        " While it is suspended you cannot log in with it."
    ),
    ("auth", "released"): _(
        "The suspension of your card was lifted: you can log in with it again. Logins ended by"
        " the suspension do not come back; services may ask you to log in again."
    ),
    ("auth", "renewed"): _(
        "Your certificate for logging in was renewed and the old one is no longer valid. Logins"
        " with the old certificate ended: log in again with your card."
    ),
    ("auth", "revoked"): _(
        "Your certificate for logging in was revoked. Every login with it ended and the services"
        " you used were told."
    ),
    ("sign", "lost"): _(
        "Your card was reported lost or stolen, and its signing certificate was revoked."
        " Services that verified your identity were told."
    ),
    ("sign", "hold"): _(
        "Your card's signing certificate was suspended. Services that verified your identity"
        " were told."
    ),
    ("sign", "released"): _("The suspension of your card's signing certificate was lifted."),
    ("sign", "renewed"): _(
        "Your card's signing certificate was renewed and the old one is no longer valid."
    ),
    ("sign", "facts"): _(
        "The facts on your card (name, address and so on) changed, so its signing certificate"
        " was revoked. Services that verified your identity were told and may ask you to verify"
        " it again with your card."
    ),
    ("sign", "revoked"): _(
        "Your card's signing certificate was revoked. Services that verified your identity were"
        " told."
    ),
}
NOTICES = {
    ("auth", "hold"): _(
        "This card is suspended. You cannot log in with it until the suspension is lifted. If you"
        " did not ask for it, contact your municipal office (市区町村の窓口)."
    ),
    ("sign", "hold"): _(
        "Your card's signing certificate is suspended: you cannot verify your identity or sign"
        " documents with it until the suspension is lifted."
    ),
    ("sign", "revoked"): _(
        "Your card's signing certificate is no longer valid: to verify your identity or sign"
        " documents again, get a new signing certificate at your municipal office."
    ),
}
REASONS = {"keyCompromise": "lost", "superseded": "renewed", "affiliationChanged": "facts"}


@dataclass(frozen=True)
class ShownEvent:
    """One line of the page's card history."""

    at: int
    """When the CA made the change (epoch seconds)."""
    certificate: str
    label: str
    meaning: str


def case_of(event: CardStatusEvent) -> str:
    """What happened, as the page groups it: lost, hold, released, renewed, facts, revoked."""
    if event.status == "on_hold":
        return "hold"
    if event.status == "released":
        return "released"
    case = REASONS.get(event.reason or "", "revoked")
    return "revoked" if (event.kind, case) not in MEANINGS else case


def shown(events: Sequence[CardStatusEvent]) -> list[ShownEvent]:
    """The events in the page's words, in the order given."""
    lines = []
    for event in events:
        case = case_of(event)
        lines.append(
            ShownEvent(
                at=event.changed_at,
                certificate=str(CERTIFICATES[event.kind]),
                label=str(LABELS[case]),
                meaning=str(MEANINGS[(event.kind, case)]),
            )
        )
    return lines


def notices(events: Sequence[CardStatusEvent], in_use: dict[str, str | None]) -> list[str]:
    """What holds now for the certificates in use (``in_use``: kind -> serial), from the newest
    event of each: a suspension, or a signing certificate no longer valid. ``events`` newest
    first."""
    found, latest = [], set()
    for event in events:
        key = (event.kind, event.serial)
        if key in latest or in_use.get(event.kind) != event.serial:
            continue
        latest.add(key)
        case = "revoked" if event.status == "revoked" else case_of(event)
        if (event.kind, case) in NOTICES:
            found.append(str(NOTICES[(event.kind, case)]))
    return found


@dataclass(frozen=True)
class CardSection:
    """What the account page's card section shows."""

    notices: list[str]
    events: list[ShownEvent]


def card_section(account_id: str, login_certificate: str, signing: Sequence) -> CardSection:
    """The section for ``account_id``, logged in with ``login_certificate`` (``<issuer hash>:
    <serial>``; empty without a card) and holding the ``signing`` records (newest first):
    notices for the certificates in use, and the history."""
    events = card_history(account_id)
    current = next((r for r in signing if r.replaced_at is None), None)
    in_use = {
        "auth": login_certificate.partition(":")[2] or None,
        "sign": current.serial if current is not None else None,
    }
    return CardSection(notices(events, in_use), shown(events))
