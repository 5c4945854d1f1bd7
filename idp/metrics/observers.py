"""The JPKI core's observers (``idp.jpki.ocsp.OcspObserver``, ``crl_updater.CrlObserver``),
feeding the revocation counters. Labels: certificate type and outcome, nothing about the card.

An app's packages pass one to the services they build (``idp.jpki.factory.build_validator``,
``CrlUpdater``); nothing is set on the classes, so a service built elsewhere in the process (a
command, another app, a test) reports only to whom it was given."""

from __future__ import annotations

from ..jpki.settings import CertificateType
from .registry import crl_refreshes, ocsp_cache_lookups, ocsp_request_duration, ocsp_requests


class RevocationMetrics:
    def answered(self, kind: CertificateType, outcome: str, seconds: float) -> None:
        ocsp_requests.labels(str(kind), outcome).inc()
        ocsp_request_duration.labels(str(kind)).observe(seconds)

    def looked_up(self, kind: CertificateType, hit: bool) -> None:
        ocsp_cache_lookups.labels(str(kind), "hit" if hit else "miss").inc()

    def refreshed(self, kind: CertificateType, refusal: str | None) -> None:
        crl_refreshes.labels(str(kind), refusal or "succeeded").inc()
