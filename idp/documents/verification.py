"""The signing certificate behind a document signature, checked with a fresh revocation status.

A signing certificate is revoked when its holder moves or changes name, so a
contract must not be signed on yesterday's OCSP answer. Each check therefore asks the responder
anew, deliberately for both certificates of the proof: the validator keeps no OCSP answer
(``NO_OCSP_CACHE``) instead of using the shared cache the login uses. The revocation policy is
the configured one for signing certificates (``ocsp,crl`` falls back to the CRL only when the
responder cannot be used).

The answer is the bridge's version-2 double proof (docs/bridge-protocol.md §9): the signing
key's document signature and the same card's authentication key's signature over the same
digest, so the caller can check the card is the one the citizen logged in with.
"""

from __future__ import annotations

import datetime as dt

from ..jpki.document import verify_document_pair
from ..jpki.factory import NO_OCSP_CACHE, build_validator
from ..jpki.ocsp import OcspObserver
from ..jpki.settings import CertificateType, JpkiSettings
from ..jpki.transport import Transport
from ..jpki.validator import ValidatedPair
from ..login.verification import own_origin
from ..services import Service


def can_verify_documents(settings: JpkiSettings) -> bool:
    """Documents are signed with the signing key and proven with the same card's authentication
    key: without both CAs' roots nothing verifies."""
    return all(kind in settings.trust_anchors for kind in CertificateType)


class DocumentVerifier:
    """Verifies bridge ``document`` results for one app; trust anchors are read at start-up."""

    def __init__(
        self,
        settings: JpkiSettings,
        issuer: str,
        transport: Transport | None = None,
        observer: OcspObserver | None = None,
    ) -> None:
        self.validator = build_validator(
            settings, NO_OCSP_CACHE, transport=transport, observer=observer
        )
        self.origin = own_origin(issuer)

    def verify(self, result: str, digest: bytes, now: dt.datetime) -> ValidatedPair:
        """Both proven certificates, or one ``JpkiValidationError`` with its reason."""
        return verify_document_pair(
            self.validator, result, origin=self.origin, digest=digest, now=now
        )


DOCUMENT_VERIFIER: Service[DocumentVerifier | None] = Service(
    "document verifier", default=lambda: None
)
"""The app's document signature checks; None without both CAs' trust anchors."""
