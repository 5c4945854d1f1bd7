"""Revocation policy per certificate type and the record of how status was established.

Three policies: OCSP then CRL, CRL only, or OCSP only. With ``ocsp,crl`` the CRL answers only when
the responder cannot be used (unreachable, slow, HTTP error, garbage); an answer that is
authentic but refuses (revoked, hold, unknown) or one that looks tampered with (bad signature,
foreign nonce, stale) is final, since falling back would let an attacker who can break OCSP
choose the older source. The fallback CRL must have been fetched within
``crl_fallback_max_age`` (``crl_fallback``): an older one is fetched again, and failing that
the check fails closed (``crl_too_old``); a listed certificate is refused whatever the age.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

from cryptography import x509

from idp.jpki.crl import CrlStatusSource
from idp.jpki.crl_fallback import CrlFallback
from idp.jpki.errors import CrlUnavailable, JpkiValidationError, ResponderUnavailable
from idp.jpki.ocsp import OcspService
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy


@dataclass(frozen=True)
class RevocationStatus:
    """A *good* status and its provenance, for the IdP's login record."""

    source: str
    """``ocsp`` or ``crl``."""
    checked_at: dt.datetime
    responder: str
    """The OCSP URL, or ``CRL #number`` (plus the delta's number)."""
    this_update: dt.datetime
    next_update: dt.datetime | None
    cached: bool = False
    fallback_reason: str | None = None
    """Why OCSP was not used when the CRL answered under ``ocsp,crl``."""


class RevocationChecker:
    FRESH: frozenset[CertificateType] = frozenset({CertificateType.SIGN})
    """Types whose status is never taken from the OCSP cache: the signing certificate
    is revoked when the holder's name or address changes, so a cached *good* would attest a
    stale address. Under the CRL fallback, only a CRL within its validity answers (``crl``)."""

    def __init__(
        self,
        settings: JpkiSettings,
        ocsp: OcspService | None,
        crl: dict[CertificateType, CrlStatusSource],
        fallback: CrlFallback | None = None,
    ) -> None:
        self.settings, self.ocsp, self.crl = settings, ocsp, crl
        self.fallback = fallback or CrlFallback(settings)
        """How recent the CRL must be under ``ocsp,crl``; by default judged, never fetched."""

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, kind: CertificateType,
        now: dt.datetime, policy: RevocationPolicy | None = None,
    ) -> RevocationStatus:  # fmt: skip
        policy = policy or self.settings.revocation_policy(kind)
        if policy is RevocationPolicy.CRL:
            return self.by_crl(certificate, kind, now)
        if policy is RevocationPolicy.OCSP:
            return self.by_ocsp(certificate, issuer, kind, now)
        try:
            return self.by_ocsp(certificate, issuer, kind, now)
        except ResponderUnavailable as unavailable:
            self.fallback.refresh_if_old(kind, now)
            try:
                status = self.by_crl(certificate, kind, now)
                with _decided_by("crl"):
                    self.fallback.require_recent(kind, now)
            except CrlUnavailable as no_crl:
                detail = f"{no_crl.detail} (after OCSP {unavailable.reason}: {unavailable.detail})"
                refusal = type(no_crl)(detail)
                refusal.source = no_crl.source
                raise refusal from None
            return replace(status, fallback_reason=unavailable.reason)

    def by_ocsp(
        self, certificate: x509.Certificate, issuer: x509.Certificate, kind: CertificateType,
        now: dt.datetime,
    ) -> RevocationStatus:  # fmt: skip
        if self.ocsp is None:
            raise ResponderUnavailable("OCSP is not configured")
        with _decided_by("ocsp"):
            answer, cached = self.ocsp.check(
                certificate, issuer, kind, now, fresh=kind in self.FRESH
            )
        return RevocationStatus(
            "ocsp",
            now,
            answer.responder,
            dt.datetime.fromisoformat(answer.this_update),
            dt.datetime.fromisoformat(answer.next_update) if answer.next_update else None,
            cached,
        )

    def by_crl(
        self, certificate: x509.Certificate, kind: CertificateType, now: dt.datetime
    ) -> RevocationStatus:
        source = self.crl.get(kind)
        if source is None:
            raise CrlUnavailable(f"no CRL configured for {kind}")
        with _decided_by("crl"):
            answer = source.check(certificate.serial_number, now)
        label = f"CRL #{answer.number}" + (
            f" + delta #{answer.delta_number}" if answer.delta_number else ""
        )
        return RevocationStatus("crl", now, label, answer.this_update, answer.next_update)


@contextlib.contextmanager
def _decided_by(source: str) -> Iterator[None]:
    """Label a refusal with the source that produced it, for the login record and the CLI."""
    try:
        yield
    except JpkiValidationError as error:
        error.source = source
        raise
