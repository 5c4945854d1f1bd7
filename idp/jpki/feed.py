"""Reading a revocation-notification feed: signed pages of status changes, after a cursor.

The feed (docs/jpki.md §9) answers ``GET URL?after=CURSOR&limit=N&nonce=X`` with a compact JWS
signed by a key whose certificate the operator configured. A page proves nothing unless every
check passes, so any failure refuses the whole page (``FeedRefused``) and the cursor stays where
it was: a forged page (unknown or wrong key, other algorithm), a replayed one (another cursor or
nonce than asked, an ``iat`` outside the clock skew), a cursor going backwards, or one entry that
is not exactly what the format says. Entries become ``StatusChange(source="feed")``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from idp.jpki.errors import JpkiValidationError
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationFeedSettings
from idp.jpki.status import Status, StatusChange, serial_hex
from idp.jpki.transport import Transport

PAGE_TYPE = "jpki-status-feed+jws"
ALGORITHMS = ("RS256", "PS256", "ES256")
MAX_ENTRY_BYTES = 1024
"""Room per entry when bounding a page's size; real entries are under 300 bytes."""
REASONS = frozenset(
    {
        "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
        "cessationOfOperation", "certificateHold", "removeFromCRL", "privilegeWithdrawn",
        "aACompromise",
    }
)  # fmt: skip
_CURSOR = re.compile(r"[0-9]{1,18}")
_ISSUER_HASH = re.compile(r"[0-9a-f]{64}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,40}")


class FeedRefused(JpkiValidationError):
    """A feed page that proves nothing: none of its changes are used."""

    reason = "feed_refused"


@dataclass(frozen=True)
class FeedPage:
    """A verified page: its changes in order, where to go on from, and whether more wait."""

    changes: tuple[StatusChange, ...]
    next: str
    has_more: bool


class FeedClient:
    """Fetches and verifies pages of one feed; holds no cursor (the watcher keeps it)."""

    def __init__(
        self,
        settings: RevocationFeedSettings,
        certificates: Sequence[x509.Certificate],
        transport: Transport,
        max_skew: float,
    ) -> None:
        if not certificates:
            raise ValueError("a revocation feed needs the certificate of its signing key")
        self.settings, self.transport = settings, transport
        self.max_skew = dt.timedelta(seconds=max_skew)
        self.signers = {_thumbprint(c): c for c in certificates}

    @classmethod
    def from_settings(cls, settings: JpkiSettings, transport: Transport) -> FeedClient | None:
        """The configured feed, or None without ``[jpki.revocation_feed] url``; a missing or
        unreadable certificate file raises ``ValueError`` (start-up refuses)."""
        feed = settings.revocation_feed
        if not feed.url:
            return None
        if not feed.certificate:
            raise ValueError("[jpki.revocation_feed] url needs certificate")
        try:
            certificates = x509.load_pem_x509_certificates(Path(feed.certificate).read_bytes())
        except (OSError, ValueError) as error:
            raise ValueError(f"[jpki.revocation_feed] certificate: {error}") from None
        return cls(feed, certificates, transport, settings.max_clock_skew)

    def fetch(self, cursor: str, now: dt.datetime) -> FeedPage:
        """The page after ``cursor``; raises ``FeedRefused`` or the transport's
        ``ResponderUnavailable``."""
        if not _CURSOR.fullmatch(cursor):
            raise FeedRefused(f"not a cursor: {cursor[:40]!r}")
        nonce = secrets.token_urlsafe(16)
        separator = "&" if "?" in self.settings.url else "?"
        url = f"{self.settings.url}{separator}after={cursor}&limit={self.settings.page_size}"
        body = io.BytesIO()
        limit = 64 * 1024 + self.settings.page_size * MAX_ENTRY_BYTES
        self.transport.download(f"{url}&nonce={nonce}", body, self.settings.timeout, limit)
        payload = self.verify(body.getvalue(), now)
        return self.read_page(payload, cursor, nonce, now)

    def verify(self, body: bytes, now: dt.datetime) -> dict:
        """The payload of a page signed by a configured certificate's key, else FeedRefused."""
        try:
            token = body.decode("ascii").strip()
            header = json.loads(_b64(token.split(".")[0]))
        except (UnicodeDecodeError, ValueError, IndexError):
            raise FeedRefused("the page is not a compact JWS") from None
        if not isinstance(header, dict):
            raise FeedRefused("the page is not a compact JWS")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise FeedRefused(f"algorithm {str(algorithm)[:20]!r} is not accepted")
        if header.get("typ") != PAGE_TYPE:
            raise FeedRefused(f"typ is not {PAGE_TYPE}")
        if set(header) - {"alg", "typ", "x5t#S256", "kid"}:
            raise FeedRefused("unknown JWS header parameters")  # crit and friends: refuse
        certificate = self.signers.get(str(header.get("x5t#S256")))
        if certificate is None:
            raise FeedRefused("signed by a key whose certificate is not configured")
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise FeedRefused("the feed certificate is not valid now")
        key = _jwk(certificate)
        try:
            verified = jws.deserialize_compact(token, key, algorithms=[algorithm])
            payload = json.loads(verified.payload)
        except (JoseError, ValueError) as error:
            raise FeedRefused(f"bad signature or payload ({type(error).__name__})") from None
        if not isinstance(payload, dict):
            raise FeedRefused("the payload is not a JSON object")
        return payload

    def read_page(self, payload: dict, cursor: str, nonce: str, now: dt.datetime) -> FeedPage:
        """Check the page answers this request, then read its entries."""
        self._answers(payload, cursor, nonce, now)
        following, has_more, entries = (
            payload.get("next"),
            payload.get("has_more"),
            payload.get("entries"),
        )
        if not (isinstance(following, str) and _CURSOR.fullmatch(following)):
            raise FeedRefused("next is not a cursor")
        if not isinstance(has_more, bool) or not isinstance(entries, list):
            raise FeedRefused("has_more or entries missing")
        if len(entries) > self.settings.page_size:
            raise FeedRefused("more entries than asked for")
        changes, last = [], int(cursor)
        for entry in entries:
            seq, change = _entry(entry)
            if seq <= last:
                raise FeedRefused("entries out of order or not after the cursor")
            last = seq
            changes.append(change)
        if int(following) != last or (has_more and not entries):
            raise FeedRefused("next does not follow the page's last entry")
        return FeedPage(tuple(changes), following, has_more)

    def _answers(self, payload: dict, cursor: str, nonce: str, now: dt.datetime) -> None:
        """The page was made now, for this request: not a recording of another."""
        if payload.get("after") != cursor:
            raise FeedRefused("the page answers another cursor (replayed?)")
        if payload.get("nonce") != nonce:
            raise FeedRefused("the page does not echo our nonce (replayed?)")
        issued = payload.get("iat")
        if not isinstance(issued, int) or isinstance(issued, bool):
            raise FeedRefused("the page has no iat")
        if abs(now.timestamp() - issued) > self.max_skew.total_seconds():
            raise FeedRefused("the page's iat is outside the tolerated clock skew")


def _entry(entry: object) -> tuple[int, StatusChange]:
    """One entry, all fields checked."""
    if not isinstance(entry, dict):
        raise FeedRefused("an entry is not an object")
    try:
        seq, issuer_hash, serial = entry["seq"], entry["issuer_hash"], entry["serial"]
        kind, status = CertificateType(entry["cert_type"]), Status(entry["status"])
        reason, changed_at = entry.get("reason"), dt.datetime.fromisoformat(entry["changed_at"])
    except (KeyError, TypeError, ValueError):
        raise FeedRefused("an entry lacks a field or has a bad value") from None
    if not (isinstance(seq, str) and _CURSOR.fullmatch(seq)):
        raise FeedRefused("an entry's seq is not a cursor")
    if not (isinstance(issuer_hash, str) and _ISSUER_HASH.fullmatch(issuer_hash)):
        raise FeedRefused("an entry's issuer_hash is not SHA-256 hex")
    if not (isinstance(serial, str) and _SERIAL.fullmatch(serial)):
        raise FeedRefused("an entry's serial is not hex")
    if reason is not None and reason not in REASONS:
        raise FeedRefused("an entry's reason is not an RFC 5280 CRLReason name")
    if changed_at.tzinfo is None:
        raise FeedRefused("an entry's changed_at has no time zone")
    change = StatusChange(
        issuer_hash,
        serial_hex(int(serial, 16)),
        kind,
        status,
        reason,
        changed_at.astimezone(dt.UTC),
        "feed",
    )
    return int(seq), change


def _thumbprint(certificate: x509.Certificate) -> str:
    digest = certificate.fingerprint(hashes.SHA256())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwk(certificate: x509.Certificate) -> RSAKey | ECKey:
    key = certificate.public_key()
    try:
        return RSAKey.import_key(key)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        return ECKey.import_key(key)  # type: ignore[arg-type]
