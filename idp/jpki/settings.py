"""The JPKI core's configuration: one frozen dataclass, embedded by ``idp.config``.

Defaults are the production-safe ones (docs/contributing.md §5): test
roots are refused and revocation is always checked. The development configuration turns
``allow_test_roots`` on explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class CertificateType(StrEnum):
    """The card's two certificates (docs/jpki.md §2)."""

    AUTH = "auth"
    """User authentication (利用者証明用): proves the holder at login; no personal data."""
    SIGN = "sign"
    """Signing (署名用): carries the basic four facts; used for identity verification."""


class RevocationPolicy(StrEnum):
    """How the status of one certificate type is established."""

    OCSP_THEN_CRL = "ocsp,crl"
    """OCSP first; the CRL only when the responder cannot be used (unreachable, slow)."""
    CRL = "crl"
    OCSP = "ocsp"


@dataclass(frozen=True)
class RevocationFeedSettings:
    """A revocation-notification feed (``[jpki.revocation_feed]``, docs/jpki.md §9): signed
    pages of status changes read with a cursor. Off unless ``url`` is set."""

    url: str = ""
    """Where the pages are (``GET URL?after=CURSOR&limit=N&nonce=X``). Default: no feed."""

    certificate: str = ""
    """PEM file of the certificate(s) whose key may sign the pages (several during a key
    rollover); a page signed by anything else is refused. Required with ``url``."""

    page_size: int = 500
    """Entries asked for per page. Default 500."""

    timeout: float = 10.0
    """Seconds for fetching one page. Default 10."""


def _per_type(value: object) -> dict[CertificateType, object]:
    return dict.fromkeys(CertificateType, value)


@dataclass(frozen=True)
class JpkiSettings:
    """Everything ``idp.jpki`` reads; nothing is taken from the environment directly."""

    trust_anchors: dict[CertificateType, Path] = field(default_factory=dict)
    """Folder of PEM root certificates per type (docs/jpki.md §4). Several may be active (key
    rollover). Default: none, which makes every certificate ``untrusted_issuer``."""

    allow_test_roots: bool = False
    """Accept roots whose subject says ``O=JPKI-TEST`` (the sandbox's). Default False;
    production must keep it False, development turns it on."""

    pinned_fingerprints: frozenset[str] = frozenset()
    """SHA-256 fingerprints (hex) the anchors must have; empty means "whatever the folders
    hold". Production pins ``idp.jpki.anchors.JLIS_ROOT_FINGERPRINTS`` (docs/jpki.md §4) so a
    swapped file in the trust folder refuses start-up. Default empty."""

    revocation: dict[CertificateType, RevocationPolicy] = field(
        default_factory=lambda: _per_type(RevocationPolicy.OCSP_THEN_CRL)  # type: ignore[arg-type,return-value]
    )
    """Revocation policy per type: ``ocsp,crl`` (default), ``crl`` or ``ocsp``."""

    ocsp_urls: dict[CertificateType, str] = field(default_factory=dict)
    """OCSP responder URL per type, overriding the certificate's AIA (J-LIS's AIA is
    unconfirmed, docs/jpki.md §2). Default: use the AIA."""

    ocsp_timeout: float = 3.0
    """Seconds for a whole OCSP exchange before ``responder_timeout``. Default 3."""

    ocsp_cache_max_ttl: float = 300.0
    """Seconds an OCSP answer stays cached at most, even if its nextUpdate is later. Default 300."""

    ocsp_failure_ttl: float = 10.0
    """Seconds a failed OCSP exchange for one certificate (unreachable, timeout, HTTP error,
    garbage) is remembered, in the shared store: the next checks of that certificate fail over
    to the CRL (or fail closed) at once instead of waiting on the responder again. Default 10."""

    ocsp_max_concurrent: int = 2
    """Exchanges with one responder that one process runs at a time; a check that finds them all
    taken fails over (``responder_busy``) instead of holding a worker thread. Keep it below the
    server's threads per process. Default 2."""

    ocsp_breaker_failures: int = 5
    """Consecutive failed exchanges with one responder after which it is not asked any more
    (``responder_circuit_open``) for ``ocsp_breaker_open`` seconds, on every process. Default 5."""

    ocsp_breaker_open: float = 30.0
    """Seconds a responder that failed ``ocsp_breaker_failures`` times in a row is left alone;
    then one probe asks it, and its success closes the breaker. Default 30."""

    ocsp_nonce_required: bool = True
    """Refuse responses that do not echo our nonce (``nonce_mismatch``). Default True."""

    max_clock_skew: float = 300.0
    """Seconds of tolerated difference between our clock and a responder's or CRL's
    thisUpdate/nextUpdate. Default 300."""

    ocsp_max_age: float = 86400.0
    """Seconds a response's thisUpdate may lie in the past when it has no nextUpdate.
    Default one day."""

    crl_urls: dict[CertificateType, str] = field(default_factory=dict)
    """Full CRL URL per type. Default: the certificate's CRL distribution point is not used
    for downloads (J-LIS publishes directoryNames); configure it."""

    delta_crl_urls: dict[CertificateType, str] = field(default_factory=dict)
    """Delta CRL URL per type (optional). Default none."""

    crl_timeout: float = 60.0
    """Seconds for downloading one CRL. Default 60."""

    crl_max_bytes: int = 2_000_000_000
    """A CRL larger than this is refused while downloading. Default 2 GB."""

    crl_refresh_margin: float = 3600.0
    """Seconds before a CRL's nextUpdate at which the refresher fetches the next one.
    Default one hour."""

    crl_retry_interval: float = 60.0
    """Seconds between attempts after a failed CRL refresh. Default 60."""

    crl_fallback_max_age: float = 900.0
    """Seconds since the CRL was last fetched within which it may answer for a failed OCSP
    exchange under ``ocsp,crl``. An older one is fetched again first (once, for all waiting
    checks); if that fails too, the check fails closed (``crl_too_old``). Default 900."""

    crl_index_dir: Path = Path("instance/jpki-crl")
    """Where the memory-mapped CRL indexes live; shared by every IdP process on the machine.
    Default ``instance/jpki-crl``."""

    status_interval: float = 60.0
    """Seconds from a status change at the CA to its effect at the IdP: sessions ended, refresh
    and access tokens refused, relying parties told. The revocation feed and delta CRLs are
    polled within it, and an authentication certificate's cached OCSP answer lives no longer.
    Default 60."""

    status_poll_interval: float = 15.0
    """Seconds between polls of the revocation feed and the delta CRLs (``status_interval``
    bounds it from above, docs/operators.md §7). Default 15."""

    revocation_feed: RevocationFeedSettings = field(default_factory=RevocationFeedSettings)
    """The revocation-notification feed, ``[jpki.revocation_feed]``. Default: none."""

    challenge_ttl: float = 120.0
    """Seconds a login challenge stays valid. Default 120."""

    challenge_replay_window: float = 900.0
    """Seconds a consumed challenge is remembered so a replay says ``challenge_replayed``
    rather than ``challenge_expired``. Default 900."""

    def trust_dir(self, kind: CertificateType) -> Path | None:
        return self.trust_anchors.get(kind)

    def revocation_policy(self, kind: CertificateType) -> RevocationPolicy:
        return RevocationPolicy(self.revocation.get(kind, RevocationPolicy.OCSP_THEN_CRL))
