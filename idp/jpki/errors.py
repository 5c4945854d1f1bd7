"""One exception family for every way a JPKI check can refuse.

Each failure is its own class with a machine-readable ``reason`` (docs/contributing.md §3): callers
branch on the class, log the reason, and show the citizen a message chosen by reason. Nothing in
``idp.jpki`` lets another exception type escape for bad input; the property tests hold us to it.
Details never contain certificate bodies, challenges, PINs or personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar


class JpkiValidationError(Exception):
    """Base of the family: the certificate, response or signature does not prove anything."""

    reason: ClassVar[str] = "invalid"
    source: str | None = None
    """``ocsp`` or ``crl`` when a revocation source decided, so a refusal says who said so."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.reason)
        self.detail = detail

    def as_dict(self) -> dict[str, str]:
        return {"status": self.reason, "reason": self.detail}


class Malformed(JpkiValidationError):
    """Bytes that do not parse as what they claim to be (certificate, SAN, result, CRL)."""

    reason = "malformed"


class WrongCertificateType(JpkiValidationError):
    """Not the JPKI profile asked for: other type, key usage, policy, key or extension."""

    reason = "wrong_certificate_type"


class UntrustedIssuer(JpkiValidationError):
    """No configured trust anchor issued it."""

    reason = "untrusted_issuer"


class PathInvalid(UntrustedIssuer):
    """cryptography's path builder refused the chain (``VerificationError``)."""


class CertificateExpired(JpkiValidationError):
    reason = "expired"


class CertificateNotYetValid(JpkiValidationError):
    reason = "not_yet_valid"


class CertificateRevoked(JpkiValidationError):
    """Revoked for good; docs/jpki.md §3 treats every revocation as final."""

    reason = "revoked"

    def __init__(
        self, detail: str = "", *, revocation_reason: str | None, revoked_at: dt.datetime | None
    ) -> None:
        super().__init__(detail)
        self.revocation_reason = revocation_reason
        self.revoked_at = revoked_at

    def as_dict(self) -> dict[str, str]:
        at = self.revoked_at.isoformat() if self.revoked_at else ""
        return {
            **super().as_dict(),
            "revocation_reason": self.revocation_reason or "",
            "revoked_at": at,
        }


class CertificateOnHold(JpkiValidationError):
    """Suspended (certificateHold); refused for as long as the CA lists it."""

    reason = "on_hold"


class StatusUnknown(JpkiValidationError):
    """The responder does not know the certificate (OCSP *unknown*): never accepted."""

    reason = "status_unknown"


class ResponderUnavailable(JpkiValidationError):
    """No usable answer from the revocation source: unreachable, HTTP error, refusal."""

    reason = "responder_unavailable"


class ResponderTimeout(ResponderUnavailable):
    reason = "responder_timeout"


class ResponseMalformed(ResponderUnavailable):
    reason = "response_malformed"


class ResponderBusy(ResponderUnavailable):
    """This process already has as many exchanges under way with the responder as it allows
    (``ocsp_max_concurrent``): the check fails over at once instead of queueing behind them."""

    reason = "responder_busy"


class ResponderCircuitOpen(ResponderUnavailable):
    """The responder failed too often lately (``ocsp_breaker_failures``): it is not asked until
    ``ocsp_breaker_open`` has passed, and then by one probe at a time."""

    reason = "responder_circuit_open"


class ResponseBadSignature(JpkiValidationError):
    """An OCSP response not signed by the CA or a responder it authorised."""

    reason = "response_bad_signature"


class ResponseMismatch(JpkiValidationError):
    """The OCSP response is about another certificate (CertID)."""

    reason = "response_mismatch"


class NonceMismatch(JpkiValidationError):
    """The OCSP nonce is missing or not ours: possibly a replayed response."""

    reason = "nonce_mismatch"


class ResponseStale(JpkiValidationError):
    """thisUpdate/nextUpdate outside the allowed skew."""

    reason = "response_stale"


class CrlUnavailable(JpkiValidationError):
    """No valid CRL is held (never fetched, or past its nextUpdate): fail closed."""

    reason = "crl_unavailable"


class CrlTooOld(CrlUnavailable):
    """Under ``ocsp,crl`` the CRL held was fetched longer ago than ``crl_fallback_max_age`` and
    no newer one could be fetched: it may miss a revocation since, so the check fails closed."""

    reason = "crl_too_old"


class CrlRejected(JpkiValidationError):
    """A downloaded CRL was refused; the last valid one stays in use."""

    reason = "crl_rejected"


class CrlBadSignature(CrlRejected):
    reason = "crl_bad_signature"


class CrlWrongIssuer(CrlRejected):
    reason = "crl_wrong_issuer"


class CrlExpired(CrlRejected):
    reason = "crl_expired"


class CrlOutdated(CrlRejected):
    """Older CRL number than the one held: a rollback, refused."""

    reason = "crl_outdated"


class BadSignature(JpkiValidationError):
    """The card's signature does not verify over the IdP's own signed value."""

    reason = "bad_signature"


class ChallengeExpired(JpkiValidationError):
    """Past its TTL, or never issued for this transaction."""

    reason = "challenge_expired"


class ChallengeReplayed(JpkiValidationError):
    """Already consumed: each challenge proves one login only."""

    reason = "challenge_replayed"


class ChallengeMismatch(JpkiValidationError):
    """The bridge answered a challenge that is not this transaction's."""

    reason = "challenge_mismatch"


class OriginMismatch(JpkiValidationError):
    """The bridge signed for another origin than ours (a phishing page asked it)."""

    reason = "origin_mismatch"


class DigestMismatch(JpkiValidationError):
    """A document signature for another digest than the one the IdP stored (bridge-protocol.md
    §8): the document changed after the citizen reviewed it, or the answer is another request's."""

    reason = "digest_mismatch"


class BridgeOutdated(JpkiValidationError):
    """A result of protocol version 1 where version 2's double proof is required (identity and
    document signing, docs/bridge-protocol.md §9): the citizen's bridge must be updated."""

    reason = "bridge_outdated"
