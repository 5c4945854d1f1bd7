"""OCSP responses as a J-LIS-like responder gives them (RFC 6960).

Two ways in:

- :func:`make_ocsp_response` is the test-time factory (docs/contributing.md §7): one keyword per
  failure a client must notice (``status="unknown"``, a stale ``next_update``, a foreign ``signer``,
  a dropped ``nonce``, ``response_status="tryLater"``), built with ``cryptography.x509.ocsp``.
- :func:`respond` answers a DER request from the CA's registry, as the sandbox's HTTP responder
  (:mod:`sandbox.revocation_app`) does: ``good``; ``revoked`` with time and reason (a hold is
  ``revoked`` with ``certificateHold``, RFC 6960 §2.2); ``unknown`` for a serial the CA never
  issued.

Choices, with the RFC text that backs them:

- A CertID naming another issuer gets the unsigned ``unauthorized`` (RFC 6960 §2.3: "the server
  is not capable of responding authoritatively"; RFC 5019 §2.2.3 requires it). A signed
  ``unknown`` would be signed by a responder the other CA never authorised (§4.2.2.2), so a
  client could not use it anyway.
- A request that does not parse gets ``malformedRequest`` (§2.3).
- The request's nonce is echoed (RFC 8954); thisUpdate is now, nextUpdate one hour later by
  default. The delegated responder of the CA signs (§4.2.2.2) and its certificate rides along.
- The reason ``unspecified`` is left out, as RFC 5280 §5.3.1 asks of CRLs, so OCSP and CRL agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from sandbox import der
from sandbox.pki import CertificateAuthority, Issuer
from sandbox.state import RegistryEntry

DEFAULT_VALIDITY = dt.timedelta(hours=1)
"""nextUpdate - thisUpdate of the responder's answers."""

Status = Literal["good", "revoked", "unknown"]
RESPONSE_STATUSES = {
    "successful": ocsp.OCSPResponseStatus.SUCCESSFUL,
    "malformedRequest": ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
    "internalError": ocsp.OCSPResponseStatus.INTERNAL_ERROR,
    "tryLater": ocsp.OCSPResponseStatus.TRY_LATER,
    "sigRequired": ocsp.OCSPResponseStatus.SIG_REQUIRED,
    "unauthorized": ocsp.OCSPResponseStatus.UNAUTHORIZED,
}
_CERT_STATUS = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}


class _Echo:
    def __repr__(self) -> str:
        return "ECHO"


ECHO = _Echo()
"""``respond(nonce=ECHO)``: copy the request's nonce (the default)."""


def _utc(moment: dt.datetime) -> dt.datetime:
    """OCSP times are GeneralizedTime in whole seconds (RFC 6960 §4.2.2.1)."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def unsuccessful(response_status: str) -> bytes:
    """An unsigned OCSPResponse carrying only an error status (RFC 6960 §2.3)."""
    if response_status not in RESPONSE_STATUSES or response_status == "successful":
        raise ValueError(f"not an error status: {response_status!r}")
    response = ocsp.OCSPResponseBuilder.build_unsuccessful(RESPONSE_STATUSES[response_status])
    return response.public_bytes(serialization.Encoding.DER)


# --- CertID ----------------------------------------------------------------------------------


def _key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's value, which issuerKeyHash covers (RFC 6960 §4.1.1)."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _, start, _ = der.read_tlv(spki)  # SubjectPublicKeyInfo
    _, _, algorithm_end = der.read_tlv(spki, start)  # AlgorithmIdentifier
    _, bits_start, bits_end = der.read_tlv(spki, algorithm_end)
    return spki[bits_start + 1 : bits_end]  # skip the unused-bits octet


def issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of a CA certificate under ``algorithm``."""

    def digest(data: bytes) -> bytes:
        h = hashes.Hash(algorithm)
        h.update(data)
        return h.finalize()

    return digest(issuer.subject.public_bytes()), digest(_key_bits(issuer))


@dataclass(frozen=True)
class CertId:
    """RFC 6960 §4.1.1 CertID: which certificate of which issuer a request or answer is about."""

    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial_number: int
    hash_algorithm: hashes.HashAlgorithm

    @classmethod
    def of(
        cls,
        serial_number: int,
        issuer: x509.Certificate,
        hash_algorithm: hashes.HashAlgorithm | None = None,
    ) -> CertId:
        algorithm = hash_algorithm or hashes.SHA1()  # noqa: S303 - RFC 6960's CertID default
        name_hash, key_hash = issuer_hashes(issuer, algorithm)
        return cls(name_hash, key_hash, serial_number, algorithm)

    @classmethod
    def from_request(cls, request: ocsp.OCSPRequest) -> CertId:
        return cls(
            request.issuer_name_hash,
            request.issuer_key_hash,
            request.serial_number,
            request.hash_algorithm,
        )

    def names_issuer(self, issuer: x509.Certificate) -> bool:
        return (self.issuer_name_hash, self.issuer_key_hash) == issuer_hashes(
            issuer, self.hash_algorithm
        )


# --- what the CA knows -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One certificate's status as the responder reports it."""

    status: Status
    revoked_at: dt.datetime | None = None
    reason: x509.ReasonFlags | None = None


def lookup(registry: Mapping[int, RegistryEntry], serial: int) -> Answer:
    """The registry's word on ``serial``: good, revoked (hold included) or unknown."""
    entry = registry.get(serial)
    if entry is None:
        return Answer("unknown")
    if entry.status == "good":
        return Answer("good")
    revoked_at = dt.datetime.fromisoformat(entry.revoked_at) if entry.revoked_at else None
    if entry.status == "hold":
        return Answer("revoked", revoked_at, x509.ReasonFlags.certificate_hold)
    reason = x509.ReasonFlags(entry.reason) if entry.reason else None
    if reason is x509.ReasonFlags.unspecified:
        reason = None  # RFC 5280 §5.3.1: absent rather than unspecified
    return Answer("revoked", revoked_at, reason)


# --- building --------------------------------------------------------------------------------


def build_response(
    ca: CertificateAuthority,
    cert_id: CertId,
    answer: Answer,
    *,
    nonce: bytes | None = None,
    now: dt.datetime | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    signer: Issuer | None = None,
    responder_id: Literal["hash", "name"] = "hash",
    certificates: Sequence[x509.Certificate] | None = None,
    signature_hash: hashes.HashAlgorithm | None = None,
    omit_next_update: bool = False,
) -> bytes:
    """A signed, successful BasicOCSPResponse with one SingleResponse (DER).

    ``omit_next_update`` leaves nextUpdate out (RFC 6960 §4.2.2.1: newer information is
    always available), whatever ``next_update`` and ``validity`` say."""
    now = _utc(now or dt.datetime.now(dt.UTC))
    this_update = _utc(this_update) if this_update else now
    next_update = _utc(next_update) if next_update else this_update + validity
    if omit_next_update:
        next_update = None
    signer = signer or ca.responder
    revoked_at = None
    if answer.status == "revoked":
        revoked_at = _utc(answer.revoked_at or this_update)
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        cert_id.issuer_name_hash,
        cert_id.issuer_key_hash,
        cert_id.serial_number,
        cert_id.hash_algorithm,
        _CERT_STATUS[answer.status],
        this_update,
        next_update,
        revoked_at,
        answer.reason if answer.status == "revoked" else None,
    )
    encoding = ocsp.OCSPResponderEncoding.HASH
    if responder_id == "name":
        encoding = ocsp.OCSPResponderEncoding.NAME
    builder = builder.responder_id(encoding, signer.certificate)
    chain = [signer.certificate] if certificates is None else list(certificates)
    if chain:
        builder = builder.certificates(chain)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(signer.key, signature_hash or hashes.SHA256())  # type: ignore[arg-type]
    return response.public_bytes(serialization.Encoding.DER)


def make_ocsp_response(
    ca: CertificateAuthority,
    certificate: x509.Certificate | int,
    *,
    status: Status = "good",
    revoked_at: dt.datetime | None = None,
    reason: x509.ReasonFlags | str | None = None,
    nonce: bytes | None = None,
    now: dt.datetime | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    signer: Issuer | None = None,
    responder_id: Literal["hash", "name"] = "hash",
    include_certs: bool = True,
    certificates: Sequence[x509.Certificate] | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    signature_hash: hashes.HashAlgorithm | None = None,
    response_status: str = "successful",
    issuer: x509.Certificate | None = None,
    omit_next_update: bool = False,
) -> bytes:
    """A DER OCSPResponse about ``certificate`` (or a bare serial), bent by the keywords.

    ``signer`` defaults to the CA's delegated responder; pass ``ca.root`` for a CA-signed answer or
    any other :class:`~sandbox.pki.Issuer` for a forged one. ``include_certs=False`` leaves the
    responder certificate out; ``certificates`` replaces it. ``hash_algorithm`` is the CertID's
    (SHA-1 by default, as clients send); ``issuer`` makes the CertID name another CA;
    ``omit_next_update`` leaves nextUpdate out.
    ``response_status`` other than ``successful`` gives the unsigned error response, and every
    other keyword is then ignored.
    """
    if response_status != "successful":
        return unsuccessful(response_status)
    serial = certificate if isinstance(certificate, int) else certificate.serial_number
    cert_id = CertId.of(serial, issuer or ca.certificate, hash_algorithm)
    if isinstance(reason, str):
        reason = x509.ReasonFlags(reason)
    answer = Answer(status, revoked_at, reason)
    chain = certificates if certificates is not None else (None if include_certs else [])
    return build_response(
        ca,
        cert_id,
        answer,
        nonce=nonce,
        now=now,
        this_update=this_update,
        next_update=next_update,
        validity=validity,
        signer=signer,
        responder_id=responder_id,
        certificates=chain,
        signature_hash=signature_hash,
        omit_next_update=omit_next_update,
    )


def make_ocsp_request(
    certificate: x509.Certificate | int,
    issuer: x509.Certificate,
    *,
    nonce: bytes | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """A client's DER OCSPRequest about ``certificate`` (or a bare serial), for tests."""
    algorithm = hash_algorithm or hashes.SHA1()  # noqa: S303 - RFC 6960's CertID default
    builder = ocsp.OCSPRequestBuilder()
    if isinstance(certificate, int):
        name_hash, key_hash = issuer_hashes(issuer, algorithm)
        builder = builder.add_certificate_by_hash(name_hash, key_hash, certificate, algorithm)
    else:
        builder = builder.add_certificate(certificate, issuer, algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


# --- answering -------------------------------------------------------------------------------


def request_nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def respond(
    ca: CertificateAuthority,
    registry: Mapping[int, RegistryEntry],
    request: bytes,
    *,
    now: dt.datetime | None = None,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    signer: Issuer | None = None,
    nonce: bytes | _Echo | None = ECHO,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    serial_offset: int = 0,
    omit_next_update: bool = False,
) -> bytes:
    """Answer a DER OCSPRequest from ``registry`` (``SandboxState.registry(kind)``).

    The keywords after ``validity`` let the misbehaving responder bend one thing: ``signer``
    (a wrong key), ``nonce`` (``None`` drops it, bytes replace it), the times (stale, or no
    nextUpdate), ``serial_offset`` (answer about another serial: a CertID that does not match).
    """
    try:
        parsed = ocsp.load_der_ocsp_request(request)
        cert_id = CertId.from_request(parsed)
        echoed = request_nonce(parsed)
    except (ValueError, UnsupportedAlgorithm):
        return unsuccessful("malformedRequest")
    if not cert_id.names_issuer(ca.certificate):
        return unsuccessful("unauthorized")
    answer = lookup(registry, cert_id.serial_number)
    if serial_offset:
        cert_id = CertId(
            cert_id.issuer_name_hash,
            cert_id.issuer_key_hash,
            cert_id.serial_number + serial_offset,
            cert_id.hash_algorithm,
        )
    return build_response(
        ca,
        cert_id,
        answer,
        nonce=echoed if isinstance(nonce, _Echo) else nonce,
        now=now,
        this_update=this_update,
        next_update=next_update,
        validity=validity,
        signer=signer,
        omit_next_update=omit_next_update,
    )
