"""The bank as a Shared Signals receiver: the IdP pushes Security Event Tokens about its
customers (OpenID Shared Signals Framework 1.0, RFC 8417 SETs, RFC 8935 push), and the bank acts.

What the bank does with each event:

- CAEP ``session-revoked``, RISC ``account-disabled`` (the card was suspended), CAEP
  ``credential-change`` with ``change_type`` ``revoke`` (the card was revoked): every bank session
  of that customer ends, as a back-channel logout would;
- the IdP's ``verified-facts-changed`` (the name or address on the card changed; the event says
  that, not what): the customer's mortgage application needs the identity verified again
  (本人確認のやり直し), which the application page says and offers;
- RISC ``account-enabled`` (a suspension was released) and anything else: noted, nothing ends.

The SET is checked before anything happens: the Content-Type, the signature by a key of the
transmitter's ``jwks_uri`` (fetched again once for an unknown ``kid``), ``typ`` secevent+jwt,
``iss`` the IdP, ``aud`` this bank's client id, ``iat`` neither in the future nor older than the
replay window, and one event. A refusal is RFC 8935 §2.3's 400 with ``err`` and ``description``
and changes nothing. A SET whose ``jti`` was seen before (the transmitter retrying after a lost
answer, or a replay) is answered 202 and changes nothing either, as the integration guide's
Shared Signals section asks. Like the sessions, what this module remembers lives in memory, for
one process; a real bank keeps it in its own database.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, redirect, request

from . import web
from .protocol import IdpError, IdpUnavailable
from .settings import PURPOSE, SIGNING_ALG
from .web import bp, log

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
CREDENTIAL_CHANGE = CAEP + "credential-change"
ACCOUNT_DISABLED = RISC + "account-disabled"
ACCOUNT_ENABLED = RISC + "account-enabled"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"
FACTS_CHANGED_PATH = "/ssf/event-type/verified-facts-changed"
"""The IdP's own event type, under its issuer (its Shared Signals guide): the verified facts of
the card (name, address, …) changed; the event carries no values."""


def facts_changed(issuer: str) -> str:
    return issuer.rstrip("/") + FACTS_CHANGED_PATH


def requested(issuer: str) -> list[str]:
    """What the bank asks its stream for (``events_requested``)."""
    standard = [SESSION_REVOKED, CREDENTIAL_CHANGE, ACCOUNT_DISABLED, ACCOUNT_ENABLED]
    return [*standard, facts_changed(issuer)]


MEDIA_TYPE = "application/secevent+jwt"
ALGORITHMS = [SIGNING_ALG]
"""The algorithm the bank registered for its ID tokens, which the IdP signs its SETs with too
(as its logout tokens): no other, even with a key the IdP publishes."""
REPLAY_WINDOW = 24 * 3600
"""The oldest ``iat`` accepted, and so how long a ``jti`` is remembered: a transmitter retrying
after the bank was down for hours still gets through, and a replay is either too old or seen."""
LEEWAY = 60
MAX_BYTES = 64 * 1024
"""A SET about one event is a few kilobytes; the bank reads no more than this."""


class Refused(Exception):
    """A SET the bank does not accept: RFC 8935 §2.4's error code and a description."""

    def __init__(self, err: str, description: str, status: int = 400) -> None:
        super().__init__(f"{err}: {description}")
        self.err, self.description, self.status = err, description, status


@dataclass
class Notice:
    """One event the bank acted on, kept with the customer's record."""

    event: str
    at: int
    ended: int = 0


@dataclass
class Customer:
    reverify_since: int | None = None
    notices: list[Notice] = field(default_factory=list)


class SignalBook:
    """What the bank remembers of the events: ``jti`` values seen and, per ``sub``, whether the
    identity must be verified again."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._customers: dict[str, Customer] = {}
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, now: float) -> bool:
        with self._lock:
            for old in [k for k, t in self._seen.items() if now - t > REPLAY_WINDOW]:
                del self._seen[old]
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = now
            return True

    def note(self, sub: str, notice: Notice, reverify: bool = False) -> None:
        with self._lock:
            customer = self._customers.setdefault(sub, Customer())
            customer.notices.append(notice)
            if reverify:
                customer.reverify_since = notice.at

    def reverify_needed(self, sub: str, logged_in_at: int) -> int | None:
        """When the facts changed, if that was at or after this login (a login is itself an
        identity verification with the signing certificate: one after the event settles it)."""
        with self._lock:
            customer = self._customers.get(sub)
            since = customer.reverify_since if customer else None
        return since if since is not None and since >= logged_in_at else None

    def notices(self, sub: str) -> list[Notice]:
        with self._lock:
            customer = self._customers.get(sub)
            return list(customer.notices) if customer else []


def book() -> SignalBook:
    return current_app.extensions["bank.signals"]


# --- checking a SET ----------------------------------------------------------------------------


def check(token: str, receiver: Any, now: float | None = None) -> dict[str, Any]:
    """The SET's claims if it is the IdP's, for this bank, fresh and well formed; else
    ``Refused``. ``receiver`` is a ``subscription.Receiver`` (the transmitter's keys, this
    bank's ids). The ``jti`` is checked against those seen by the caller."""
    claims = _signed(token, receiver)
    if claims.get("iss") != receiver.issuer:
        raise Refused("invalid_issuer", "the SET comes from another issuer")
    audience = claims.get("aud")
    if receiver.client_id not in (audience if isinstance(audience, list) else [audience]):
        raise Refused("invalid_audience", "the SET is not for this bank")
    now = time.time() if now is None else now
    issued = claims.get("iat")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise Refused("invalid_request", "no iat")
    if issued > now + LEEWAY or issued < now - REPLAY_WINDOW:
        raise Refused("invalid_request", "iat is in the future or too old")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:  # SSF 1.0 SET profile: one event
        raise Refused("invalid_request", "a SET carries exactly one event")
    if not all(isinstance(v, dict) for v in events.values()):
        raise Refused("invalid_request", "an event's payload is not an object")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise Refused("invalid_request", "no jti")
    return claims


def _signed(token: str, receiver: Any) -> dict[str, Any]:
    """The claims of a SET signed by one of the transmitter's keys, ``typ`` secevent+jwt
    (RFC 8417 §2.3); the JWKS is fetched again once for a key it did not have."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    for refresh in (False, True):
        try:
            verified = jwt.decode(token, receiver.keys(refresh), algorithms=ALGORITHMS)
            break
        except JoseError as e:
            if refresh:
                raise Refused("invalid_key", f"not signed by the transmitter ({e.error})") from None
    if verified.header.get("typ") != "secevent+jwt":
        raise Refused("invalid_request", "typ is not secevent+jwt")
    return dict(verified.claims)


def subject(claims: dict[str, Any], event: dict[str, Any], issuer: str) -> str:
    """The customer's ``sub`` at this bank: ``sub_id`` (SSF 1.0 §3, RFC 9493 ``iss_sub``),
    else the event's ``subject`` member that CAEP and RISC events used before it."""
    found = claims.get("sub_id") or event.get("subject")
    if not isinstance(found, dict) or found.get("format") != "iss_sub":
        raise Refused("invalid_request", "the subject is not an iss_sub identifier")
    if found.get("iss") != issuer or not isinstance(found.get("sub"), str) or not found["sub"]:
        raise Refused("invalid_request", "the subject is not one of this IdP's")
    return found["sub"]


def act(claims: dict[str, Any], receiver: Any) -> str:
    """Do what the event means; returns what was done, for the log."""
    (kind, event), = claims["events"].items()  # fmt: skip
    if kind == VERIFICATION:
        return receiver.verified(event.get("state"), claims)
    if kind == STREAM_UPDATED:
        return f"stream status {event.get('status')!r}"
    if kind not in requested(receiver.issuer):
        return "ignored (not an event the bank asked for)"
    sub = subject(claims, event, receiver.issuer)
    now = int(time.time())
    ends = kind in (SESSION_REVOKED, ACCOUNT_DISABLED) or (
        kind == CREDENTIAL_CHANGE and event.get("change_type") == "revoke"
    )
    ended = web.sessions().end_matching(None, sub) if ends else 0
    reverify = kind == facts_changed(receiver.issuer)
    book().note(sub, Notice(kind, now, ended), reverify=reverify)
    if reverify:
        return "re-verification needed"
    return f"ended {ended} session(s)" if ends else "noted"


def _answer(status: int, body: dict | None = None) -> Response:
    response = Response(json.dumps(body) if body else b"", status)
    if body:
        response.headers["Content-Type"] = "application/json"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/ssf/events")
def receive() -> Response:
    """RFC 8935 §2: one SET in the body; 202 when accepted, 400 with ``err`` when not."""
    from .subscription import receiver

    try:
        found = receiver()
        found.authenticate(request.headers.get("Authorization"))
        if request.mimetype != MEDIA_TYPE:
            raise Refused("invalid_request", f"the Content-Type is not {MEDIA_TYPE}")
        if (request.content_length or 0) > MAX_BYTES:
            raise Refused("invalid_request", "the body is too large for a SET")
        token = request.get_data(as_text=True).strip()
        if not token or token.count(".") != 2:
            raise Refused("invalid_request", "the body is not a signed SET")
        claims = check(token, found)
        if book().first_use(claims["iss"], claims["jti"], time.time()):
            done = act(claims, found)
        else:
            done = "a repeat (jti seen before): nothing done"
    except Refused as e:
        log.warning("refused a SET: %s", e)
        return _answer(e.status, {"err": e.err, "description": e.description})
    except (IdpUnavailable, IdpError) as e:
        log.warning("cannot check a SET: %s", e)
        return _answer(503, {"err": "temporarily_unavailable", "description": "keys unknown"})
    log.info("SET %s: %s", next(iter(claims["events"])), done)
    return _answer(202)


# --- the application page ------------------------------------------------------------------------


def reverification(login: Any) -> int | None:
    """For the application page: when this customer's verified facts changed, if still open."""
    return book().reverify_needed(login.claims.get("sub", ""), login.received_at)


@bp.post("/application/verify-again")
@web.signed_in
def verify_again(current, _login) -> Response:
    """Run the identity verification again (the same PAR login with verified claims), keeping
    the application: the callback replaces the login in this session, not the session."""
    from dataclasses import asdict

    pending = web.idp().begin(web.settings().redirect_uri, web.language(), PURPOSE)
    current.data["pending"] = asdict(pending)
    return web.secure(redirect(pending.url, 303))
