"""The signing certificate behind a document signature, checked with a fresh revocation status.

Issue 8 §2: a signing certificate is revoked when its holder moves or changes name, so a
contract must not be signed on yesterday's OCSP answer. Each check therefore asks the responder
anew: the OCSP service gets an empty store of its own for every verification instead of the
shared cache the login uses. The revocation policy is the configured one for signing
certificates (``ocsp,crl`` falls back to the CRL only when the responder cannot be used).

The answer is the bridge's version-2 double proof (docs/bridge-protocol.md §9): the signing
key's document signature and the same card's authentication key's signature over the same
digest, so the caller can check the card is the one the citizen logged in with.
"""

from __future__ import annotations

import datetime as dt

from ..jpki.anchors import TrustAnchors
from ..jpki.crl import CrlStatusSource
from ..jpki.document import verify_document_pair
from ..jpki.ocsp import OcspService
from ..jpki.revocation import RevocationChecker
from ..jpki.settings import CertificateType, JpkiSettings
from ..jpki.transport import HttpTransport, Transport
from ..jpki.validator import JpkiValidator, ValidatedPair
from ..login.verification import own_origin
from ..storage.ephemeral import MemoryStore


def can_verify_documents(settings: JpkiSettings) -> bool:
    """Documents are signed with the signing key and proven with the same card's authentication
    key: without both CAs' roots nothing verifies."""
    return all(kind in settings.trust_anchors for kind in CertificateType)


class DocumentVerifier:
    """Verifies bridge ``document`` results for one app; trust anchors are read at start-up."""

    def __init__(self, settings: JpkiSettings, issuer: str, transport: Transport | None = None):
        self.settings = settings
        self.anchors = TrustAnchors.from_settings(settings)
        self.transport = transport or HttpTransport()
        self.crl = {kind: CrlStatusSource(settings.crl_index_dir, kind) for kind in CertificateType}
        self.origin = own_origin(issuer)

    def validator(self) -> JpkiValidator:
        """A validator whose OCSP answers are never cached beyond this one check."""
        ocsp = OcspService(self.settings, self.transport, MemoryStore())
        revocation = RevocationChecker(self.settings, ocsp, self.crl)
        return JpkiValidator(self.settings, self.anchors, revocation)

    def verify(self, result: str, digest: bytes, now: dt.datetime) -> ValidatedPair:
        """Both proven certificates, or one ``JpkiValidationError`` with its reason."""
        return verify_document_pair(
            self.validator(), result, origin=self.origin, digest=digest, now=now
        )
