"""The JPKI services the card login uses, built once per app from the ``[jpki]`` block.

Trust anchors are read when the app is built, so a broken trust folder stops start-up
(``TrustAnchorError``). OCSP answers are cached in the app's ephemeral store, shared by every
process, deliberately: a login's authentication certificate may be checked on an answer until
its nextUpdate (capped by ``ocsp_cache_max_ttl``), which keeps logins fast and the responder
unburdened; the signing certificate is always asked fresh (``RevocationChecker.FRESH``).
CRLs are read from the indexes in ``jpki.crl_index_dir``; keeping them fresh is the CRL
refresher's job (``idp.jpki.crl_updater``), not the login's: with no valid CRL the fallback
refuses as ``crl_unavailable`` (fail closed).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from cryptography import x509

from .. import audit
from ..jpki.bridge import BridgeResult
from ..jpki.challenge import Challenges
from ..jpki.crl_updater import CrlRefresher
from ..jpki.errors import JpkiValidationError
from ..jpki.factory import build_validator
from ..jpki.ocsp import OcspObserver
from ..jpki.settings import CertificateType, JpkiSettings
from ..jpki.signature import canonical_origin
from ..jpki.store import EphemeralStore
from ..jpki.transport import Transport
from ..jpki.validator import Purpose, ValidatedCertificate, ValidatedPair
from ..services import Service


def own_origin(issuer: str) -> str:
    """The IdP's origin (RFC 6454) from its issuer URL: what the card must have signed for."""
    url = urlsplit(issuer)
    return canonical_origin(f"{url.scheme}://{url.netloc}")


class CardVerifier:
    """The card check of one app: challenges bound to a transaction, and the verdict on a
    bridge's answer against the IdP's own origin and the stored challenge. The card login and
    the consent's card step (``idp.consent.cardstep``) both use it through these methods."""

    def __init__(
        self,
        settings: JpkiSettings,
        issuer: str,
        store: EphemeralStore,
        transport: Transport | None = None,
        observer: OcspObserver | None = None,
    ) -> None:
        self.validator = build_validator(settings, store, transport=transport, observer=observer)
        self.challenges = Challenges(
            store, settings.challenge_ttl, settings.challenge_replay_window
        )
        self.origin = own_origin(issuer)

    def challenge(self, transaction: str) -> str:
        """A fresh challenge for this login transaction (replacing any earlier one)."""
        return self.challenges.issue(transaction, dt.datetime.now(dt.UTC))

    def bound_challenge(self, transaction: str, content_digest: bytes) -> tuple[str, bytes]:
        """A fresh challenge for ``transaction`` binding ``content_digest`` (replacing any earlier
        one), and the random nonce it was made with (``Challenges.issue_bound``)."""
        return self.challenges.issue_bound(transaction, content_digest, dt.datetime.now(dt.UTC))

    @property
    def challenge_ttl(self) -> float:
        """How long a challenge stays usable, in seconds."""
        return self.challenges.ttl

    def discard(self, transaction: str) -> None:
        """Forget ``transaction``'s challenge: nothing can answer it any more."""
        self.challenges.discard(transaction)

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

    def verify_pair(self, transaction: str, result: str) -> ValidatedPair:
        """Both keys of one card proven in one answer (bridge-protocol.md §9): the signing and
        the authentication certificate, or one ``JpkiValidationError``."""
        return self.validator.verify_pair_result(
            result,
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


CARD_VERIFIER: Service[CardVerifier | None] = Service("card verifier", default=lambda: None)
"""The app's card checks (``idp.login``); None without the authentication CA's trust anchors."""
CRL_REFRESHER: Service[CrlRefresher | None] = Service("CRL refresher", default=lambda: None)
"""The serving process's CRL refresher (``idp.login``); None in commands, tests and without
``[jpki] crl_urls``."""
