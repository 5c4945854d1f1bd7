"""A J-LIS-like revocation-notification feed: every status change of a card certificate, in order.

J-LIS tells platform providers of revocations; its real feed format is not public, so this
models one (docs/jpki.md §9): an append-only log of changes, read page by page with a cursor, each
page signed by a feed key certified under the sandbox's authentication CA.

- Every ``jpki-sandbox revoke``, ``hold`` and ``release`` (:class:`sandbox.state.SandboxState`),
  and every certificate a ``renew``, ``reissue``, ``move`` or ``rename`` revokes
  (:mod:`sandbox.lifecycle`), appends an entry: issuer (DN and SHA-256 of its DER), serial
  (upper-case hex), certificate type, status (``revoked``, ``on_hold``, ``released``), the
  RFC 5280 CRLReason name, and when.
- ``GET /feed?after=CURSOR&limit=N&nonce=X`` (:mod:`sandbox.revocation_app`) answers a compact
  JWS (``application/jose``, RS256, ``typ`` :data:`PAGE_TYPE`, ``x5t#S256`` of the feed
  certificate) whose payload echoes ``after`` and ``nonce`` (so a recorded page cannot be
  replayed for another request), carries ``iat``, up to ``limit`` ``entries`` after the cursor,
  ``next`` (the cursor to ask with next time) and ``has_more``. Cursors are decimal sequence
  numbers, ``0`` before the first entry.

Files: ``STATE/feed/entries.jsonl`` (one entry a line; its line number is its sequence number),
``STATE/feed/feed.pem`` and ``feed.key.pem`` (the feed certificate, which the IdP is configured
with, and its key).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from joserfc import jws
from joserfc.jwk import RSAKey

from sandbox import pki

PAGE_TYPE = "jpki-status-feed+jws"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STATUSES = ("revoked", "on_hold", "released")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,128}")


class FeedRequestError(ValueError):
    """A request the feed answers with 400."""


def feed_dir(root: Path) -> Path:
    return Path(root) / "feed"


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[Path]:
    folder = feed_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    tmp.replace(path)


# --- the signer ------------------------------------------------------------------------------


def ensure_signer(root: Path, ca: pki.Issuer, now: dt.datetime | None = None) -> pki.Issuer:
    """The feed's key and certificate (issued by ``ca``), made on first use."""
    with _locked(root) as folder:
        cert_path, key_path = folder / "feed.pem", folder / "feed.key.pem"
        if not (cert_path.is_file() and key_path.is_file()):
            issuer = make_feed_signer(ca, now=now or dt.datetime.now(dt.UTC))
            _write(key_path, _key_pem(issuer), 0o600)
            _write(cert_path, issuer.certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        return pki.Issuer(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))  # type: ignore[arg-type]


def make_feed_signer(ca: pki.Issuer, *, now: dt.datetime, days: int = 365) -> pki.Issuer:
    """A feed signing certificate under ``ca``; a test makes a forged one with another ``ca``."""
    key = pki.new_key()
    subject = x509.Name(
        [*ca.certificate.subject, x509.NameAttribute(NameOID.COMMON_NAME, "Revocation Feed")]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca.key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return pki.Issuer(key, certificate)


def _key_pem(issuer: pki.Issuer) -> bytes:
    return issuer.key.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def thumbprint(certificate: x509.Certificate) -> str:
    """``x5t#S256`` (RFC 7515 §4.1.8): base64url SHA-256 of the certificate's DER."""
    digest = certificate.fingerprint(hashes.SHA256())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_page(signer: pki.Issuer, payload: dict, *, header: dict | None = None) -> str:
    """``payload`` as the feed signs it; ``header`` adds or overrides fields (for tests)."""
    protected = {"alg": "RS256", "typ": PAGE_TYPE, "x5t#S256": thumbprint(signer.certificate)}
    key = RSAKey.import_key(_key_pem(signer))
    body = json.dumps(payload, separators=(",", ":")).encode()
    return jws.serialize_compact({**protected, **(header or {})}, body, key)


# --- the log ---------------------------------------------------------------------------------


def append(
    root: Path,
    *,
    issuer: x509.Name,
    serial: int,
    cert_type: str,
    status: str,
    reason: str | None,
    at: dt.datetime,
) -> int:
    """Add one change; returns its sequence number (its cursor)."""
    if status not in STATUSES:
        raise ValueError(f"not a feed status: {status!r}")
    with _locked(root) as folder:
        path = folder / "entries.jsonl"
        seq = 1 + (sum(1 for _ in path.open("rb")) if path.is_file() else 0)
        entry = {
            "seq": str(seq),
            "issuer": issuer.rfc4514_string(),
            "issuer_hash": hashlib.sha256(issuer.public_bytes()).hexdigest(),
            "serial": f"{serial:X}",
            "cert_type": cert_type,
            "status": status,
            "reason": reason,
            "changed_at": at.astimezone(dt.UTC).isoformat(),
        }
        with path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        return seq


def entries(root: Path) -> list[dict]:
    """Every entry so far, in order."""
    path = feed_dir(root) / "entries.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def page_payload(
    root: Path,
    after: str | None,
    limit: str | None,
    nonce: str | None,
    *,
    now: dt.datetime,
    issuer: str,
    source: Callable[[Path], list[dict]] | None = None,
) -> dict:
    """The payload of one page; FeedRequestError for a bad cursor, limit or nonce.

    ``source`` reads another append-only log of entries numbered by ``seq`` from 1 (the linkage
    record's, sandbox/linkage.py) instead of this feed's."""
    after = after if after is not None else "0"
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise FeedRequestError("after must be a cursor this feed gave (a decimal number)")
    try:
        count = int(limit) if limit is not None else DEFAULT_LIMIT
    except ValueError:
        raise FeedRequestError("limit must be a number") from None
    if not 1 <= count <= MAX_LIMIT:
        raise FeedRequestError(f"limit must be 1 to {MAX_LIMIT}")
    if nonce is not None and not _NONCE.fullmatch(nonce):
        raise FeedRequestError("nonce must be 1 to 128 base64url characters")
    position = int(after)
    everything = (source or entries)(root)
    if position > len(everything):
        raise FeedRequestError("after is beyond the end of the feed")
    chosen = everything[position : position + count]
    payload = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "after": after,
        "next": chosen[-1]["seq"] if chosen else after,
        "has_more": position + count < len(everything),
        "entries": chosen,
    }
    if nonce is not None:
        payload["nonce"] = nonce
    return payload
