"""The JPKI validator: an ordered list of checks, then subject data (docs/contributing.md §2).

profile → path → revocation → signature, then read the basic four facts. The order is fixed
here in code, not left to a registry: the cheap, local refusals come first, and nothing about
the holder is read before the certificate is proven (Web eID's AuthTokenValidatorImpl does the
same). Callers get a typed result or one exception of the ``JpkiValidationError`` family.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509

from idp.jpki import profile
from idp.jpki.anchors import TrustAnchors, is_test_root
from idp.jpki.bridge import BridgeResult, KeyProof, PairResult
from idp.jpki.certificate import load_certificate, serial_hex
from idp.jpki.challenge import Challenges
from idp.jpki.errors import JpkiValidationError, Malformed, OriginMismatch, UntrustedIssuer
from idp.jpki.facts import BasicFourFacts, read_basic_four_facts
from idp.jpki.path import validate_path
from idp.jpki.revocation import RevocationChecker, RevocationStatus
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from idp.jpki.signature import canonical_origin, origin_bytes, verify_signature


class Purpose(StrEnum):
    LOGIN = "login"
    """Proves the holder: the user-authentication certificate only."""
    IDENTITY = "identity"
    """Proves the basic four facts: the signing certificate only."""


CERTIFICATE_FOR = {Purpose.LOGIN: CertificateType.AUTH, Purpose.IDENTITY: CertificateType.SIGN}


@dataclass(frozen=True)
class ValidatedCertificate:
    kind: CertificateType
    certificate: x509.Certificate
    anchor: x509.Certificate
    revocation: RevocationStatus
    facts: BasicFourFacts | None

    @property
    def serial(self) -> str:
        return serial_hex(self.certificate)

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()


@dataclass(frozen=True)
class ValidatedPair:
    """Both certificates of one double proof, each validated in full (profile, path,
    revocation, signature over the same origin and challenge). That they belong to one card is
    what the caller checks next: the authentication certificate must be the account's own."""

    authentication: ValidatedCertificate
    signing: ValidatedCertificate


class JpkiValidator:
    def __init__(
        self, settings: JpkiSettings, anchors: TrustAnchors, revocation: RevocationChecker
    ) -> None:
        self.settings, self.anchors, self.revocation = settings, anchors, revocation

    def validate(
        self,
        certificate: bytes | x509.Certificate,
        purpose: Purpose,
        now: dt.datetime,
        *,
        revocation_policy: RevocationPolicy | None = None,
        signature: tuple[bytes, str, bytes] | None = None,
        proof: Callable[[x509.Certificate], None] | None = None,
    ) -> ValidatedCertificate:
        """All checks for ``purpose``; ``signature`` = (signature, own origin, stored challenge).

        ``proof`` checks another kind of signature with the certificate, at the same step, once
        profile, path and revocation have passed (document signing, idp/jpki/document.py).
        """
        if not isinstance(certificate, x509.Certificate):
            certificate = load_certificate(certificate)
        kind = CERTIFICATE_FOR[Purpose(purpose)]
        roots = self.anchors.for_type(kind)
        profile.check_profile(certificate, kind, allow_test_policy=self.settings.allow_test_roots)
        anchor = validate_path(certificate, roots, kind, now)
        if is_test_root(anchor) and not self.settings.allow_test_roots:
            raise UntrustedIssuer("issued by a JPKI-TEST root")  # anchors refuse it first
        status = self.revocation.check(certificate, anchor, kind, now, revocation_policy)
        if signature is not None:
            verify_signature(certificate, *signature)
        if proof is not None:
            proof(certificate)
        facts = read_basic_four_facts(certificate) if kind is CertificateType.SIGN else None
        return ValidatedCertificate(kind, certificate, anchor, status, facts)

    def verify_bridge_result(
        self,
        result: bytes | str | dict,
        *,
        purpose: Purpose,
        transaction: str,
        origin: str,
        challenges: Challenges,
        now: dt.datetime,
    ) -> ValidatedCertificate:
        """A login proof from the bridge, against our origin and stored challenge. Identity
        needs both keys (``verify_pair_result``): a single signing-key proof is never enough."""
        if Purpose(purpose) is not Purpose.LOGIN:
            raise ValueError("identity is proven with verify_pair_result")
        try:
            parsed = BridgeResult.parse(result)
        except Malformed:
            challenges.discard(transaction)  # single use even when the answer is garbage
            raise
        stored = challenges.consume(transaction, parsed.challenge, now)  # single use, first
        own = canonical_origin(origin)
        if parsed.purpose != Purpose(purpose):
            raise Malformed("the bridge answered for another purpose")
        if not hmac.compare_digest(origin_bytes(parsed.origin), own.encode("ascii")):
            raise OriginMismatch("the bridge signed for another origin")
        return self.validate(
            parsed.certificate, purpose, now, signature=(parsed.signature, own, stored)
        )

    def verify_pair_result(
        self,
        result: bytes | str | dict,
        *,
        transaction: str,
        origin: str,
        challenges: Challenges,
        now: dt.datetime,
    ) -> ValidatedPair:
        """An identity proof (docs/bridge-protocol.md §9): the card's authentication key and
        signing key both signed our origin and the challenge we stored, in one bridge operation.

        The challenge is consumed first, whatever follows (a garbage or version-1 answer uses it
        up too); then each certificate gets the full checks with its own key's signature. A
        pair whose halves signed different challenges fails ``bad_signature`` on one of them.
        """
        try:
            parsed = PairResult.parse(result)
        except JpkiValidationError:
            challenges.discard(transaction)  # single use even when the answer is refused
            raise
        stored = challenges.consume(transaction, parsed.challenge, now)
        own = canonical_origin(origin)
        if not hmac.compare_digest(origin_bytes(parsed.origin), own.encode("ascii")):
            raise OriginMismatch("the bridge signed for another origin")
        return ValidatedPair(
            self._proven(parsed.authentication, Purpose.LOGIN, now, own, stored),
            self._proven(parsed.signing, Purpose.IDENTITY, now, own, stored),
        )

    def _proven(
        self, proof: KeyProof, purpose: Purpose, now: dt.datetime, origin: str, challenge: bytes
    ) -> ValidatedCertificate:
        return self.validate(
            proof.certificate, purpose, now, signature=(proof.signature, origin, challenge)
        )
