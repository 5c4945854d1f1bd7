"""Whether the card a login used still stands, from what the IdP already knows.

Asked before a session is reused, a code redeemed and on every refresh (``idp.oidc``'s
``CARD_STANDING``), so it reads the card status events (one indexed query, no call to the CA).
The login itself asked the CA (OCSP, else a recent CRL) and was let in: what can have changed
since is a revocation or hold the IdP learnt of after it. So a login's card stands unless such
an event was recorded at or after the login's time. A released hold does not bring back what
was ended (the hold stays recorded after that login); a new login after the release stands,
because the CA's answer at that login said the card was good.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from ..jpki.settings import CertificateType
from ..jpki.status import Status
from ..storage.card_status import CardStatusEvent
from ..storage.db import run

REFUSALS = {
    Status.REVOKED.value: "the card of this login was revoked since: log in again",
    Status.ON_HOLD.value: "the card of this login was suspended since: log in again",
}

_STOPPED_SINCE = (
    select(CardStatusEvent.status)
    .where(CardStatusEvent.issuer_hash == bindparam("issuer_hash"))
    .where(CardStatusEvent.serial == bindparam("serial"))
    .where(CardStatusEvent.kind == CertificateType.AUTH.value)
    .where(CardStatusEvent.status.in_(list(REFUSALS)))
    .where(CardStatusEvent.recorded_at >= bindparam("auth_time"))
    .order_by(CardStatusEvent.changed_at.desc(), CardStatusEvent.id.desc())
    .limit(1)
)


def card_standing(certificate: str, auth_time: int) -> str | None:
    """None while the card of the login stands, else why not (``idp.oidc``'s ``CardStanding``).
    A login without a card certificate (none recorded) has nothing to check."""
    issuer_hash, _sep, serial = certificate.partition(":")
    if not issuer_hash or not serial:
        return None
    params = {"issuer_hash": issuer_hash, "serial": serial, "auth_time": auth_time}
    status = run(_STOPPED_SINCE, params).scalar_one_or_none()
    return None if status is None else REFUSALS[status]
