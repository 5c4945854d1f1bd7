"""The card step of the consent screen: a fresh card signature that binds exactly
what the citizen approves.

Approving self-information needs the user-authentication key again (``card-step-up``), even
inside a session; approving verified identity (or a request that demands it) needs the signing
key (``card-sign``), which also yields the basic four facts, **together with** the
authentication key of the same card: one bridge operation (docs/bridge-protocol.md §9) in which
the card signs the challenge with both keys. The authentication certificate must be the
account's own, so a signing certificate from someone else's card is refused (``another_card``)
and a single-key answer from an old bridge gets ``bridge_outdated``. Either way the challenge the
card signs is bound to the approval: ``Challenges.issue_bound`` makes it
SHA-256("jpki-idp consent v1" ‖ nonce ‖ content_digest(request, granted)), with a random nonce.

``begin`` issues that challenge under a transaction of its own (``consent:<id>``, so it never
collides with a login's) and remembers (key, granted, digest, nonce) for the consent
transaction, for as long as the challenge lives. ``finish`` takes that memory (single use), has
the JPKI core verify the bridge's result against the IdP's own origin and the stored challenge,
and then checks what the JPKI core cannot know: that the posted items are the ones bound, that
the echoed challenge is the bound value of that content, and that the authentication
certificate (the step-up's, or the double proof's) is the logged-in person's. Only then does it
return the ``ConsentDecision`` with the evidence.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from ..jpki.bridge import BridgeResult, PairResult
from ..jpki.challenge import bound_value, decode, encode
from ..jpki.store import EphemeralStore
from ..jpki.validator import ValidatedCertificate
from ..login.accounts import account_of, issuer_hash, serial_of
from ..login.verification import CardVerifier
from .decisions import (
    AUTH_SIGN,
    AUTH_STEP_UP,
    VERIFIED_PREFIX,
    ConsentDecision,
    ConsentRequest,
    VerifiedIdentity,
    content_digest,
    needs_card,
)

STATE_PREFIX = "consent-card:"
CHALLENGE_PREFIX = "consent:"
"""The challenge's transaction key: ``Challenges`` hashes it, so it shares nothing with the
core's ``consent:`` records but the word."""
KEY_AUTH = "auth"
"""The user-authentication key (4-digit PIN): ``/v1/authenticate``, purpose login."""
KEY_SIGN = "sign"
"""The signing key (signing password, 6-16 characters): ``/v1/sign``, purpose identity."""


class StepRefused(Exception):
    """The card step was refused for a reason of the consent's own (not the JPKI core's)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class CardStep:
    key: str
    granted: tuple[str, ...]
    digest: str
    """``content_digest(request, granted)``, hex."""
    nonce: str
    """The bound challenge's nonce, base64url."""


def key_for(request: ConsentRequest, granted: tuple[str, ...]) -> str | None:
    """Which card key approving ``granted`` needs, or None when the session is enough."""
    if request.identity_required or any(i.startswith(VERIFIED_PREFIX) for i in granted):
        return KEY_SIGN
    return KEY_AUTH if needs_card(granted) else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def begin(
    store: EphemeralStore, verifier: CardVerifier, request: ConsentRequest, granted: tuple[str, ...]
) -> tuple[str, CardStep]:
    """The bound challenge for approving ``granted`` (replacing any earlier one), remembered."""
    key = key_for(request, granted)
    if key is None:
        raise StepRefused("no_card_needed")
    digest = content_digest(request, granted)
    challenge, nonce = verifier.bound_challenge(
        CHALLENGE_PREFIX + request.id, bytes.fromhex(digest)
    )
    step = CardStep(key, granted, digest, encode(nonce))
    record = json.dumps(asdict(step)).encode()
    store.set(STATE_PREFIX + request.id, record, verifier.challenge_ttl + 60)
    return challenge, step


def _taken(store: EphemeralStore, transaction: str) -> CardStep | None:
    raw = store.take(STATE_PREFIX + transaction)
    if raw is None:
        return None
    fields = json.loads(raw)
    return CardStep(**{**fields, "granted": tuple(fields["granted"])})


def finish(
    store: EphemeralStore,
    verifier: CardVerifier,
    request: ConsentRequest,
    granted: tuple[str, ...],
    result: str,
) -> ConsentDecision:
    """The decision for ``granted`` proven by ``result``; raises ``JpkiValidationError`` (the
    card or its certificate) or ``StepRefused`` (the approval or the person)."""
    step = _taken(store, request.id)
    transaction = CHALLENGE_PREFIX + request.id
    if step is None:
        verifier.discard(transaction)
        raise StepRefused("no_card_step")
    proof = _verified(verifier, step, transaction, result)
    digest = content_digest(request, granted)
    nonce = decode(step.nonce)
    bound = bound_value(nonce, bytes.fromhex(digest))
    if (
        not hmac.compare_digest(digest, step.digest)
        or not hmac.compare_digest(decode(proof.challenge), bound)
        or key_for(request, granted) != step.key
    ):
        raise StepRefused("changed")
    if account_of(proof.authentication) != request.account_id:
        raise StepRefused("another_card")
    evidence = {
        "content_digest": digest,
        "nonce": step.nonce,
        "key": step.key,
        "issuer_hash": issuer_hash(proof.validated),
        "serial": serial_of(proof.validated),
        "signature": _b64url(proof.signature),
        "challenge_sha256": hashlib.sha256(bound).hexdigest(),
    }
    if step.key == KEY_AUTH:
        return ConsentDecision(granted, AUTH_STEP_UP, evidence)
    evidence |= {
        "authentication_issuer_hash": issuer_hash(proof.authentication),
        "authentication_serial": serial_of(proof.authentication),
        "authentication_signature": _b64url(proof.authentication_signature),
    }
    return ConsentDecision(granted, AUTH_SIGN, evidence, identity_of(proof.validated))


@dataclass(frozen=True)
class _Proof:
    """What a verified card answer gives the step: the certificate of the step's key (the
    signing one for ``card-sign``) and its signature, and the authentication certificate that
    says whose card it is (the same one for a step-up)."""

    challenge: str
    validated: ValidatedCertificate
    signature: bytes
    authentication: ValidatedCertificate
    authentication_signature: bytes


def _verified(verifier: CardVerifier, step: CardStep, transaction: str, result: str) -> _Proof:
    """The JPKI core's verdict on ``result`` for the step's key: the authentication key alone
    for a step-up, both keys of one card (§9 of the bridge protocol) for the signing key."""
    if step.key == KEY_AUTH:
        validated = verifier.verify(transaction, result)
        parsed = BridgeResult.parse(result)  # verified above: parses the same way again
        return _Proof(parsed.challenge, validated, parsed.signature, validated, parsed.signature)
    pair = verifier.verify_pair(transaction, result)
    parsed_pair = PairResult.parse(result)
    return _Proof(
        parsed_pair.challenge,
        pair.signing,
        parsed_pair.signing.signature,
        pair.authentication,
        parsed_pair.authentication.signature,
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def identity_of(validated: ValidatedCertificate) -> VerifiedIdentity:
    """The basic four facts of a signing certificate the validator just proved."""
    facts = validated.facts
    if facts is None:  # the validator reads them for every signing certificate
        raise StepRefused("changed")
    return VerifiedIdentity(
        name=facts.name,
        address=facts.address,
        birthdate=facts.birthdate.isoformat(),
        gender=str(facts.gender.value),
        issuer=validated.issuer,
        serial=validated.serial,
        signed_at=int(_now().timestamp()),
        issuer_hash=issuer_hash(validated),
    )
