"""Document signatures from the bridge (docs/bridge-protocol.md §8): parse and verify.

The card signs DigestInfo(SHA-256, digest) for a digest the IdP computed — for CMS, of the DER
signedAttrs holding the document's message digest and the signing time — so the signature drops
into a standard SignerInfo. Nothing in those bytes names our origin: what ties the answer to the
request is that the IdP checks it against **its own stored request** (its origin and digest,
never the echoes), which the caller keeps single use and bound to the citizen's transaction.

The certificate goes through the validator with the ``identity`` purpose's checks (signing
certificate profile, path to the signing CA, revocation by policy); only the signature step
differs, passed in as ``proof``.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from idp.jpki.bridge import b64url, load_envelope
from idp.jpki.errors import DigestMismatch, Malformed, OriginMismatch
from idp.jpki.settings import RevocationPolicy
from idp.jpki.signature import (
    DIGEST_BYTES,
    canonical_origin,
    origin_bytes,
    verify_digest_signature,
)
from idp.jpki.validator import JpkiValidator, Purpose, ValidatedCertificate

PURPOSE = "document"
FORMAT = "jpki-sha256-digest-v1"
FIELDS = {"version", "purpose", "origin", "digest", "certificate", "signature", "algorithm",
          "format"}  # fmt: skip
FINGERPRINT_BYTES = 8
"""The review page and the bridge's PIN screen both show this much of the digest (§8)."""


def fingerprint(digest: bytes) -> str:
    """What the IdP's review page shows beside the document, e.g. ``9F86-D081-884C-7D65``: the
    first 8 bytes of the digest, upper-case hex in groups of four — the bridge shows the same."""
    if len(digest) != DIGEST_BYTES:
        raise ValueError("a SHA-256 digest is 32 bytes")
    text = digest[:FINGERPRINT_BYTES].hex().upper()
    return "-".join(text[index : index + 4] for index in range(0, len(text), 4))


@dataclass(frozen=True)
class DocumentResult:
    """A ``document`` result, parsed strictly: exactly its members, right types and sizes."""

    origin: str
    digest: bytes
    certificate: bytes
    signature: bytes

    @classmethod
    def parse(cls, data: bytes | str | dict) -> DocumentResult:
        body = load_envelope(data, FIELDS, {PURPOSE}, FORMAT)
        digest = b64url(body["digest"], DIGEST_BYTES)
        if len(digest) != DIGEST_BYTES:
            raise Malformed("digest must be 32 bytes")
        return cls(
            origin=body["origin"],
            digest=digest,
            certificate=b64url(body["certificate"], 8192),
            signature=b64url(body["signature"], 512),
        )


def verify_document_result(
    validator: JpkiValidator,
    result: bytes | str | dict,
    *,
    origin: str,
    digest: bytes,
    now: dt.datetime,
    revocation_policy: RevocationPolicy | None = None,
) -> ValidatedCertificate:
    """Check a bridge ``document`` result against the IdP's own ``origin`` and stored ``digest``.

    Order: strict parse (``malformed``) → echoed origin (``origin_mismatch``) → echoed digest
    (``digest_mismatch``) → the signing certificate's profile, path and revocation
    (``wrong_certificate_type``, ``untrusted_issuer``, ``revoked``, …) → the signature over
    DigestInfo(SHA-256, **our** digest) (``bad_signature``). The echoes only explain a refusal
    early; the signature is checked against what we stored.
    """
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the expected digest must be 32 bytes")  # our own bug, not the input
    parsed = DocumentResult.parse(result)
    own = canonical_origin(origin)
    if not hmac.compare_digest(origin_bytes(parsed.origin), own.encode("ascii")):
        raise OriginMismatch("the bridge signed for another origin")
    if not hmac.compare_digest(parsed.digest, digest):
        raise DigestMismatch("the bridge signed another digest than the one reviewed")
    return validator.validate(
        parsed.certificate,
        Purpose.IDENTITY,
        now,
        revocation_policy=revocation_policy,
        proof=lambda certificate: verify_digest_signature(certificate, parsed.signature, digest),
    )
