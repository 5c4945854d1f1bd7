"""Which Security Events a card's status change becomes (docs/shared-signals.md §1).

The CA's reason stays distinct all the way to the relying party: a lost card, a suspension and
its release, a renewal and a change of name or address each mean something else to a bank, so
each maps to its own CAEP or RISC event (OpenID CAEP 1.0 §3, RISC 1.0 §2) and every event says
which of the card's two certificates changed and the CA's reason (``jpki_certificate``,
``jpki_reason``; SSF 1.0 §4.2.3 lets a transmitter add members a receiver may ignore). No event
carries the certificate's issuer or serial: both are the same for every relying party and would
undo the pairwise subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..jpki.settings import CertificateType
from ..jpki.status import Status, StatusChange

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
CREDENTIAL_CHANGE = CAEP + "credential-change"
SESSION_REVOKED = CAEP + "session-revoked"
ACCOUNT_DISABLED = RISC + "account-disabled"
ACCOUNT_ENABLED = RISC + "account-enabled"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"
FACTS_CHANGED_PATH = "/ssf/event-type/verified-facts-changed"
"""Our own event, under the issuer: the signing certificate's facts (name, address, date of
birth, gender) are no longer what the relying party verified; it carries no values."""


def facts_changed(issuer: str) -> str:
    """The URI of the verified-facts-changed event of the IdP at ``issuer``."""
    return issuer.rstrip("/") + FACTS_CHANGED_PATH


def supported(issuer: str) -> list[str]:
    """The event types a stream can carry (``events_supported``), verification and
    stream-updated aside: those are always sent."""
    return [
        CREDENTIAL_CHANGE,
        SESSION_REVOKED,
        ACCOUNT_DISABLED,
        ACCOUNT_ENABLED,
        facts_changed(issuer),
    ]


CERTIFICATE_NAMES = {
    CertificateType.AUTH: "My Number Card user authentication certificate",
    CertificateType.SIGN: "My Number Card signing certificate",
}
REASONS: dict[str | None, tuple[str, str]] = {
    "keyCompromise": (
        "The card was reported lost or stolen; its certificate is revoked.",
        "カードの紛失・盗難が届け出られ、証明書が失効しました。",
    ),
    "certificateHold": (
        "The card is suspended.",
        "カードが一時停止されました。",
    ),
    "removeFromCRL": (
        "The card's suspension was lifted.",
        "カードの一時停止が解除されました。",
    ),
    "affiliationChanged": (
        "The holder's name, address or other facts changed; the signing certificate is revoked.",
        "氏名・住所などの記載事項が変更され、署名用電子証明書が失効しました。",
    ),
    "superseded": (
        "The certificate was renewed.",
        "電子証明書が更新されました。",
    ),
    "cessationOfOperation": (
        "The certificate was withdrawn (the card was returned or is no longer used).",
        "電子証明書が廃止されました（カードの返納など）。",
    ),
    None: (
        "The certificate is revoked.",
        "電子証明書が失効しました。",
    ),
}


@dataclass(frozen=True)
class Event:
    """One event of a SET: its type URI and its members."""

    type: str
    members: dict


def events_for(change: StatusChange, issuer: str) -> list[Event]:
    """The events one status change is told as, in the order they are sent."""
    reason = change.reason
    common = {
        "event_timestamp": int(change.changed_at.timestamp()),
        "initiating_entity": "admin",
        "reason_admin": _text(reason, change.status),
        "jpki_certificate": change.kind.value,
        "jpki_reason": reason,
    }
    auth = change.kind is CertificateType.AUTH
    if change.status is Status.RELEASED:
        return [Event(ACCOUNT_ENABLED, common)]
    if change.status is Status.ON_HOLD:
        disabled = Event(ACCOUNT_DISABLED, common)
        return [disabled, Event(SESSION_REVOKED, common)] if auth else [disabled]
    if reason == "affiliationChanged" and not auth:
        return [Event(facts_changed(issuer), common)]
    credential = {
        "credential_type": "x509",
        "change_type": "update" if reason == "superseded" else "revoke",
        "friendly_name": CERTIFICATE_NAMES[change.kind],
        **common,
    }
    if reason == "superseded" or not auth:
        return [Event(CREDENTIAL_CHANGE, credential)]
    return [Event(CREDENTIAL_CHANGE, credential), Event(SESSION_REVOKED, common)]


def _text(reason: str | None, status: Status) -> dict[str, str]:
    """``reason_admin`` in English and Japanese (CAEP 1.0 §2: language-tagged strings)."""
    if status is Status.RELEASED:
        reason = "removeFromCRL"
    elif status is Status.ON_HOLD:
        reason = "certificateHold"
    en, ja = REASONS.get(reason, REASONS[None])
    return {"en": en, "ja": ja}
