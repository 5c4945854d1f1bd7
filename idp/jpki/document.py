"""Document signatures from the bridge (docs/bridge-protocol.md §8): parse and verify.

The card signs DigestInfo(SHA-256, digest) for a digest the IdP computed — for CMS, of the DER
signedAttrs holding the document's message digest and the signing time — so the signature drops
into a standard SignerInfo. Nothing in those bytes names our origin: what ties the answer to the
request is that the IdP checks it against **its own stored request** (its origin and digest,
never the echoes), which the caller keeps single use and bound to the citizen's transaction.

The certificate goes through the validator with the ``identity`` purpose's checks (signing
certificate profile, path to the signing CA, revocation by policy); only the signature step
differs, passed in as ``proof``.

Version 2 (§9, ``verify_document_pair``) is what document signing accepts: the same card's
authentication key also signs the origin-bound value of §4 over the same digest, so the IdP can
check that the signing key belongs to the card the citizen logged in with. A version-1 answer is
``BridgeOutdated``.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from idp.jpki.bridge import KeyProof, b64url, key_proofs, load_envelope, load_pair_envelope
from idp.jpki.errors import DigestMismatch, Malformed, OriginMismatch
from idp.jpki.settings import RevocationPolicy
from idp.jpki.signature import (
    DIGEST_BYTES,
    canonical_origin,
    origin_bytes,
    verify_digest_signature,
)
from idp.jpki.validator import JpkiValidator, Purpose, ValidatedCertificate, ValidatedPair

PURPOSE = "document"
FORMAT = "jpki-sha256-digest-v1"
FIELDS = {"version", "purpose", "origin", "digest", "certificate", "signature", "algorithm",
          "format"}  # fmt: skip
PAIR_FORMAT = "jpki-sha256-digest-pair-v2"
"""The signing key signs DigestInfo(SHA-256, digest); the authentication key signs §4's value
with the digest in the challenge's place."""
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
        return cls(
            origin=body["origin"],
            digest=_digest(body),
            certificate=b64url(body["certificate"], 8192),
            signature=b64url(body["signature"], 512),
        )


@dataclass(frozen=True)
class DocumentPairResult:
    """A version-2 ``document`` result: the signing key's signature and the authentication
    key's, from one card session, over the same digest."""

    origin: str
    digest: bytes
    authentication: KeyProof
    signing: KeyProof

    @classmethod
    def parse(cls, data: bytes | str | dict) -> DocumentPairResult:
        body = load_pair_envelope(data, FIELDS, {PURPOSE}, PAIR_FORMAT)
        authentication, signing = key_proofs(body)
        return cls(body["origin"], _digest(body), authentication, signing)


def _digest(body: dict) -> bytes:
    """The result's ``digest`` member: the SHA-256 the IdP prepared, exactly 32 bytes."""
    digest = b64url(body["digest"], DIGEST_BYTES)
    if len(digest) != DIGEST_BYTES:
        raise Malformed("digest must be 32 bytes")
    return digest


def verify_document_pair(
    validator: JpkiValidator,
    result: bytes | str | dict,
    *,
    origin: str,
    digest: bytes,
    now: dt.datetime,
    revocation_policy: RevocationPolicy | None = None,
) -> ValidatedPair:
    """Check a version-2 ``document`` result against our ``origin`` and stored ``digest``.

    The signing key exactly as ``verify_document_result`` checks it; then the authentication
    certificate's profile, path and revocation, and its signature over SHA-256(our origin) ‖
    SHA-256(our digest) (§4 with the digest as the challenge). A version-1 answer is
    ``BridgeOutdated``. Which account the authentication certificate belongs to is the caller's
    check.
    """
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the expected digest must be 32 bytes")  # our own bug, not the input
    parsed = DocumentPairResult.parse(result)
    signing = _signing_key(validator, parsed.origin, parsed.digest, parsed.signing, origin=origin,
                           digest=digest, now=now, revocation_policy=revocation_policy)  # fmt: skip
    authentication = validator.validate(
        parsed.authentication.certificate,
        Purpose.LOGIN,
        now,
        signature=(parsed.authentication.signature, canonical_origin(origin), digest),
    )
    return ValidatedPair(authentication, signing)


def verify_document_result(
    validator: JpkiValidator,
    result: bytes | str | dict,
    *,
    origin: str,
    digest: bytes,
    now: dt.datetime,
    revocation_policy: RevocationPolicy | None = None,
) -> ValidatedCertificate:
    """Check a bridge ``document`` result of version 1 (§8: the signing key alone) against the
    IdP's own ``origin`` and stored ``digest``. Document signing accepts only version 2
    (``verify_document_pair``); this stays the definition of the signing key's part.

    Order: strict parse (``malformed``) → echoed origin (``origin_mismatch``) → echoed digest
    (``digest_mismatch``) → the signing certificate's profile, path and revocation
    (``wrong_certificate_type``, ``untrusted_issuer``, ``revoked``, …) → the signature over
    DigestInfo(SHA-256, **our** digest) (``bad_signature``). The echoes only explain a refusal
    early; the signature is checked against what we stored.
    """
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the expected digest must be 32 bytes")  # our own bug, not the input
    parsed = DocumentResult.parse(result)
    proof = KeyProof(parsed.certificate, parsed.signature)
    return _signing_key(validator, parsed.origin, parsed.digest, proof, origin=origin,
                        digest=digest, now=now, revocation_policy=revocation_policy)  # fmt: skip


def _signing_key(
    validator: JpkiValidator,
    echoed_origin: str,
    echoed_digest: bytes,
    proof: KeyProof,
    *,
    origin: str,
    digest: bytes,
    now: dt.datetime,
    revocation_policy: RevocationPolicy | None,
) -> ValidatedCertificate:
    """The echoes, then the signing certificate and its signature over our own digest."""
    own = canonical_origin(origin)
    if not hmac.compare_digest(origin_bytes(echoed_origin), own.encode("ascii")):
        raise OriginMismatch("the bridge signed for another origin")
    if not hmac.compare_digest(echoed_digest, digest):
        raise DigestMismatch("the bridge signed another digest than the one reviewed")
    return validator.validate(
        proof.certificate,
        Purpose.IDENTITY,
        now,
        revocation_policy=revocation_policy,
        proof=lambda certificate: verify_digest_signature(certificate, proof.signature, digest),
    )
