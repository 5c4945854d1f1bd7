"""The JPKI services the card login uses, built once per app from the ``[jpki]`` block.

Trust anchors are read when the app is built, so a broken trust folder stops start-up
(``TrustAnchorError``). OCSP answers are cached in the app's ephemeral store, shared by every
process. CRLs are read from the indexes in ``jpki.crl_index_dir``; keeping them fresh is the CRL
refresher's job (``idp.jpki.crl_updater``), not the login's: with no valid CRL the fallback
refuses as ``crl_unavailable`` (fail closed).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from cryptography import x509

from .. import audit
from ..jpki.anchors import TrustAnchors
from ..jpki.bridge import BridgeResult
from ..jpki.challenge import Challenges
from ..jpki.crl import CrlStatusSource
from ..jpki.errors import JpkiValidationError
from ..jpki.ocsp import OcspService
from ..jpki.revocation import RevocationChecker
from ..jpki.settings import CertificateType, JpkiSettings
from ..jpki.signature import canonical_origin
from ..jpki.store import EphemeralStore
from ..jpki.transport import HttpTransport, Transport
from ..jpki.validator import JpkiValidator, Purpose, ValidatedCertificate


def own_origin(issuer: str) -> str:
    """The IdP's origin (RFC 6454) from its issuer URL: what the card must have signed for."""
    url = urlsplit(issuer)
    return canonical_origin(f"{url.scheme}://{url.netloc}")


class CardVerifier:
    """Challenges and verification of bridge results for one app."""

    def __init__(
        self,
        settings: JpkiSettings,
        issuer: str,
        store: EphemeralStore,
        transport: Transport | None = None,
    ) -> None:
        anchors = TrustAnchors.from_settings(settings)
        ocsp = OcspService(settings, transport or HttpTransport(), store)
        crl = {kind: CrlStatusSource(settings.crl_index_dir, kind) for kind in CertificateType}
        self.validator = JpkiValidator(settings, anchors, RevocationChecker(settings, ocsp, crl))
        self.challenges = Challenges(
            store, settings.challenge_ttl, settings.challenge_replay_window
        )
        self.origin = own_origin(issuer)

    def challenge(self, transaction: str) -> str:
        """A fresh challenge for this login transaction (replacing any earlier one)."""
        return self.challenges.issue(transaction, dt.datetime.now(dt.UTC))

    def verify(self, transaction: str, result: str) -> ValidatedCertificate:
        """The proven authentication certificate, or one ``JpkiValidationError``."""
        return self.validator.verify_bridge_result(
            result,
            purpose=Purpose.LOGIN,
            transaction=transaction,
            origin=self.origin,
            challenges=self.challenges,
            now=dt.datetime.now(dt.UTC),
        )


def presented_ref(result: str) -> str | None:
    """``audit.certificate_ref`` of the certificate in a refused result, if it parses: which
    card was refused, for the audit stream."""
    try:
        return audit.ref_of(x509.load_der_x509_certificate(BridgeResult.parse(result).certificate))
    except (JpkiValidationError, ValueError):
        return None


def can_verify_logins(settings: JpkiSettings) -> bool:
    """Card logins need the authentication CA's roots; without them every card is untrusted."""
    return CertificateType.AUTH in settings.trust_anchors
