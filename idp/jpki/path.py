"""Path validation from a card certificate to a configured J-LIS root.

cryptography's verifier (``PolicyBuilder``) checks the issuer signature, validity at ``now``,
basic constraints and key usage of the CA, and refuses unaccounted-for critical extensions. Its
Web PKI end-entity defaults require a subjectAltName, which authentication certificates lack, so
JPKI gets an explicit ``ExtensionPolicy``. Revocation is ours, not the verifier's.
Validity is checked first by hand only to give ``expired``/``not_yet_valid`` their own reasons.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from idp.jpki.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    PathInvalid,
    UntrustedIssuer,
)
from idp.jpki.settings import CertificateType

MAX_CHAIN_DEPTH = 1
"""J-LIS card certificates are issued directly by the self-signed root (docs/jpki.md §2)."""


def jpki_end_entity_policy() -> ExtensionPolicy:
    """Key usage and policy critical and required; never a CA; other extensions optional."""
    return (
        ExtensionPolicy.permit_all()
        .require_present(x509.KeyUsage, Criticality.CRITICAL, None)
        .require_present(x509.CertificatePolicies, Criticality.AGNOSTIC, None)
        .require_not_present(x509.BasicConstraints)
    )


def check_validity_period(certificate: x509.Certificate, now: dt.datetime) -> None:
    if now < certificate.not_valid_before_utc:
        raise CertificateNotYetValid(f"valid from {certificate.not_valid_before_utc.isoformat()}")
    if now > certificate.not_valid_after_utc:
        raise CertificateExpired(f"expired at {certificate.not_valid_after_utc.isoformat()}")


def check_issuer_is_anchor(
    certificate: x509.Certificate, anchors: tuple[x509.Certificate, ...]
) -> list[x509.Certificate]:
    """Roots whose DN is the certificate's issuer; none means an unknown CA."""
    candidates = [root for root in anchors if root.subject == certificate.issuer]
    if not candidates:
        raise UntrustedIssuer("no configured trust anchor has this issuer name")
    return candidates


def check_chain(
    certificate: x509.Certificate, candidates: list[x509.Certificate], now: dt.datetime
) -> x509.Certificate:
    """Run cryptography's verifier; only the configured roots, never a card-supplied CA."""
    verifier = (
        PolicyBuilder()
        .store(Store(candidates))
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=jpki_end_entity_policy()
        )
        .build_client_verifier()
    )
    try:
        verified = verifier.verify(certificate, [])
    except VerificationError as error:
        raise PathInvalid(f"path validation failed: {error}") from None
    return verified.chain[-1]


def validate_path(
    certificate: x509.Certificate,
    anchors: tuple[x509.Certificate, ...],
    kind: CertificateType,
    now: dt.datetime,
) -> x509.Certificate:
    """Validity, issuer by name, then chain by signature; returns the root that issued it."""
    del kind  # anchors are already the ones for this type; kept for the log context of callers
    check_validity_period(certificate, now)
    candidates = check_issuer_is_anchor(certificate, anchors)
    return check_chain(certificate, candidates, now)
