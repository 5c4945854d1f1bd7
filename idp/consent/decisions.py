"""Consent as an interface: what a request asks for, and the citizen's decision.

After the login, the consent step (``consenting.ask``) turns the request into a
``ConsentRequest`` — one ``ConsentItem`` per thing the service would receive — and, unless a
remembered consent already covers it, hands it to the configured ``ConsentScreen``
(``services()[CONSENT_SCREEN]``: the citizen's pages, ``views``; ``tests/cardless.py``
in tests). The
screen calls ``finish_consent`` with a ``ConsentDecision`` or ``deny_consent``; both answer the
relying party. Nothing here knows about pages or cards: a screen that asked for a card
signature says so in ``auth_method`` and ``evidence``, and it verified that signature.

Item ids:
- ``openid``: the pairwise subject (always required).
- ``claim:<name>``: a claim the login established (scope or ``claims`` parameter).
- ``selfinfo:<category>``: a self-information category (its scope). Per request; approving it
  needs a fresh card signature over ``content_digest`` (step-up).
- ``verified:<claim>``: a verified claim of OIDC for Identity Assurance. Per request;
  approving it needs the signing certificate (``identity``).

An item may carry the relying party's own ``purpose`` for that claim (OIDC4IDA's per-claim
``purpose``), shown under it. It is not part of the item's identity: items compare by id (and
required), and a remembered consent is matched on item ids and the request-wide purpose only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask.typing import ResponseReturnValue

from ..services import Service

OPENID = "openid"
SELFINFO_PREFIX = "selfinfo:"
VERIFIED_PREFIX = "verified:"
CLAIM_PREFIX = "claim:"
DOCUMENT_PREFIX = "document:"
"""An access record's item for a signed document: the prefix, then the title as the service
gave it (free text, spaces included: never split into items)."""

AUTH_SESSION = "session"
"""Approved inside the card-login session, with no further signature (remembered items only)."""
AUTH_STEP_UP = "card-step-up"
"""Approved with a fresh user-authentication signature over ``content_digest``."""
AUTH_SIGN = "card-sign"
"""Approved with a fresh signing-certificate signature over ``content_digest`` (eKYC)."""


@dataclass(frozen=True)
class ConsentItem:
    id: str
    required: bool = False
    """Marked required; the citizen cannot untick it (deny is always possible)."""
    purpose: str | None = field(default=None, compare=False)
    """The request's ``purpose`` for this claim (3–300 characters, checked by
    ``verified_claims.check_request``), shown under the item; None when it gave none."""

    @property
    def per_request(self) -> bool:
        """Needs approval each time and a fresh card signature: never remembered."""
        return self.id.startswith((SELFINFO_PREFIX, VERIFIED_PREFIX))

    @property
    def needs_identity(self) -> bool:
        """Needs the signing certificate's basic four facts."""
        return self.id.startswith(VERIFIED_PREFIX)


@dataclass(frozen=True)
class ConsentRequest:
    """One screen: who asks, why, for how long, and each item."""

    id: str
    """The consent transaction: ``finish_consent``/``deny_consent`` take it."""
    account_id: str
    client_id: str
    client_name: str
    purpose: str
    """The request's ``purpose`` (OIDC4IDA), else the client's registered ``purpose``."""
    retention_days: int | None
    """How long the service keeps the data (client metadata ``retention_days``)."""
    items: tuple[ConsentItem, ...]
    expires_at: int
    """When the consent ends if approved (epoch seconds)."""
    identity_required: bool = False
    """The approval must come with the signing certificate's basic four facts
    (``ConsentDecision.identity``), even if no verified item is granted: the request asked for
    acr ``urn:jpki-idp:acr:sign-cert-identity``."""
    ui_locales: str = ""

    def item(self, item_id: str) -> ConsentItem | None:
        return next((i for i in self.items if i.id == item_id), None)


@dataclass(frozen=True)
class VerifiedIdentity:
    """The basic four facts read from a signing certificate the IdP just validated (fresh
    revocation check), with what OIDC4IDA's ``electronic_signature`` evidence needs."""

    name: str
    address: str
    birthdate: str
    """ISO 8601 date."""
    gender: str
    """``idp.jpki.facts.Gender`` value: male, female or unspecified."""
    issuer: str
    """The signing certificate's issuer, RFC 4514."""
    serial: str
    """Its serial number, upper-case hex."""
    signed_at: int
    """When the card signed (epoch seconds)."""
    issuer_hash: str = ""
    """The issuer's key as status changes at the CA name it (``idp.jpki.status.issuer_hash_of``)."""


@dataclass(frozen=True)
class ConsentDecision:
    """What the citizen approved, and how the approval was authenticated."""

    granted: tuple[str, ...]
    auth_method: str = AUTH_SESSION
    evidence: Mapping[str, Any] | None = None
    """For a card signature: ``content_digest`` (hex, must equal ``content_digest(request,
    granted)``), ``issuer_hash``, ``serial``, ``nonce`` and ``signature`` (base64url)."""
    identity: VerifiedIdentity | None = field(default=None)


class ConsentScreen(Protocol):
    def begin(self, request: ConsentRequest) -> ResponseReturnValue:
        """Show the request; eventually call ``finish_consent`` or ``deny_consent``."""


def content_digest(request: ConsentRequest, granted: tuple[str, ...] | list[str]) -> str:
    """SHA-256 hex of the canonical JSON of what would be approved: the value a step-up
    signature binds. Any change (item, purpose, retention, expiry, transaction) changes it.
    Per-claim purposes of granted items are bound too, under a key present only when there are
    some, so the digest of a request without them is what it always was."""
    content: dict[str, Any] = {
        "v": 1,
        "transaction": request.id,
        "client_id": request.client_id,
        "items": sorted(set(granted)),
        "purpose": request.purpose,
        "retention_days": request.retention_days,
        "expires_at": request.expires_at,
    }
    shown = {i.id: i.purpose for i in request.items if i.purpose and i.id in set(granted)}
    if shown:
        content["item_purposes"] = shown
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def needs_card(granted: tuple[str, ...] | list[str]) -> bool:
    return any(ConsentItem(i).per_request for i in granted)


def decision_problem(request: ConsentRequest, decision: ConsentDecision) -> str | None:
    """Why the screen's decision does not fit its request; None when it does."""
    granted, known = set(decision.granted), {item.id for item in request.items}
    if not granted <= known:
        return "an item that was not requested"
    if missing := {item.id for item in request.items if item.required} - granted:
        return f"required items left out: {sorted(missing)}"
    wants_identity = request.identity_required or any(i.startswith("verified:") for i in granted)
    if wants_identity and decision.identity is None:
        return "verified identity approved without the signing certificate"
    if needs_card(list(granted)) or wants_identity:
        if decision.auth_method not in (AUTH_STEP_UP, AUTH_SIGN) or not decision.evidence:
            return "a per-request item approved without a fresh card signature"
        bound = str(decision.evidence.get("content_digest", ""))
        if not hmac.compare_digest(bound, content_digest(request, decision.granted)):
            return "the card signature binds other content"
    return None


CONSENT_SCREEN: Service[ConsentScreen] = Service("consent screen")
"""Where the citizen is asked: registered by ``idp.consent`` (its pages), or by a test suite."""
