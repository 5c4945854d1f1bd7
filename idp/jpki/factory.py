"""The certificate validator, assembled in one place for every caller.

Trust anchors, the OCSP service, the CRL indexes of ``crl_index_dir`` and the revocation
policy are put together here; what differs between callers is an argument: where OCSP answers
are cached (``ocsp_cache``: the app's shared ephemeral store, or ``NO_OCSP_CACHE``) and who
hears what the services did (the observers, the IdP's metrics).
"""

from __future__ import annotations

from idp.jpki.anchors import TrustAnchors
from idp.jpki.crl import CrlStatusSource
from idp.jpki.crl_fallback import CrlFallback
from idp.jpki.crl_updater import CrlUpdater
from idp.jpki.ocsp import OcspObserver, OcspService
from idp.jpki.revocation import RevocationChecker
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.store import EphemeralStore
from idp.jpki.transport import HttpTransport, Transport
from idp.jpki.validator import JpkiValidator


class _Forgetful:
    """An ephemeral store that keeps nothing: every OCSP check asks the responder."""

    def set(self, key: str, value: bytes, ttl: float) -> None:
        pass

    def add(self, key: str, value: bytes, ttl: float) -> bool:  # noqa: ARG002
        return True

    def get(self, key: str) -> bytes | None:  # noqa: ARG002
        return None

    def take(self, key: str) -> bytes | None:  # noqa: ARG002
        return None

    def delete(self, key: str) -> None:
        pass


NO_OCSP_CACHE: EphemeralStore = _Forgetful()
"""``ocsp_cache`` for callers that must not reuse an OCSP answer, not even their own."""


def build_validator(
    settings: JpkiSettings,
    ocsp_cache: EphemeralStore,
    *,
    transport: Transport | None = None,
    anchors: TrustAnchors | None = None,
    observer: OcspObserver | None = None,
) -> JpkiValidator:
    """A validator for ``settings``: anchors read now (default: from the settings, so a broken
    trust folder raises ``TrustAnchorError`` here), OCSP answers kept in ``ocsp_cache`` and
    told to ``observer``, CRL status read from the indexes in ``settings.crl_index_dir`` for
    every certificate type; under ``ocsp,crl`` a CRL older than ``crl_fallback_max_age`` is
    fetched again from ``crl_urls`` before it may answer."""
    anchors = anchors or TrustAnchors.from_settings(settings)
    transport = transport or HttpTransport()
    ocsp = OcspService(settings, transport, ocsp_cache, observer=observer)
    crl = {kind: CrlStatusSource(settings.crl_index_dir, kind) for kind in CertificateType}
    fallback = CrlFallback(settings, _crl_refresh(settings, anchors, transport))
    return JpkiValidator(settings, anchors, RevocationChecker(settings, ocsp, crl, fallback))


def _crl_refresh(settings: JpkiSettings, anchors: TrustAnchors, transport: Transport):
    """``CrlUpdater.refresh`` for the configured CRLs; None without any ``crl_urls``."""
    if not settings.crl_urls:
        return None
    return CrlUpdater(settings, anchors.roots, transport).refresh
