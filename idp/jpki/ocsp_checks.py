"""One function per OCSP response check (RFC 6960 §3.2; docs/contributing.md §2).

Each raises its own reason, so "why was this card refused?" has a precise answer: a responder
that is down or says ``tryLater`` (``responder_unavailable``), garbage (``response_malformed``),
a response about another certificate (``response_mismatch``), a forged or unauthorised signer
(``response_bad_signature``), a dropped or foreign nonce (``nonce_mismatch``), old news
(``response_stale``), and the status itself (``revoked``, ``on_hold``, ``status_unknown``).
"""

from __future__ import annotations

import datetime as dt
import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from idp.jpki.certificate import PARSE_ERRORS
from idp.jpki.errors import (
    CertificateOnHold,
    CertificateRevoked,
    NonceMismatch,
    ResponderUnavailable,
    ResponseBadSignature,
    ResponseMalformed,
    ResponseMismatch,
    ResponseStale,
    StatusUnknown,
)


def parse_response(data: bytes) -> ocsp.OCSPResponse:
    try:
        return ocsp.load_der_ocsp_response(data)
    except PARSE_ERRORS:
        raise ResponseMalformed("the OCSP response does not parse") from None


def check_response_status(response: ocsp.OCSPResponse) -> None:
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ResponderUnavailable(f"responder answered {response.response_status.name}")


def find_single(response: ocsp.OCSPResponse, request: ocsp.OCSPRequest) -> ocsp.OCSPSingleResponse:
    """check_cert_id: the SingleResponse about our CertID (issuer hashes, serial)."""
    try:
        for single in response.responses:
            if (
                single.serial_number == request.serial_number
                and single.issuer_key_hash == request.issuer_key_hash
                and single.issuer_name_hash == request.issuer_name_hash
                and single.hash_algorithm.name == request.hash_algorithm.name
            ):
                return single
    except PARSE_ERRORS:
        raise ResponseMalformed("unreadable SingleResponse") from None
    raise ResponseMismatch("the response is not about the certificate asked for")


def check_signature(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: dt.datetime
) -> x509.Certificate:
    """Signed by the CA itself, or by a responder the CA issued with id-kp-OCSPSigning."""
    signer = _signer(response, issuer, now)
    key = signer.public_key()
    try:
        algorithm = response.signature_hash_algorithm
        if not isinstance(key, rsa.RSAPublicKey) or algorithm is None:
            raise ResponseBadSignature("responder key is not RSA")
        key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, *PARSE_ERRORS):
        raise ResponseBadSignature("the OCSP response signature does not verify") from None
    return signer


def _signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: dt.datetime
) -> x509.Certificate:
    if _names(response, issuer):
        return issuer
    for candidate in response.certificates:
        if _names(response, candidate) and _authorised(candidate, issuer, now):
            return candidate
    raise ResponseBadSignature("responder is neither the CA nor authorised by it")


def _names(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    """ResponderID (RFC 6960 §4.2.2.3): by name, or by the SHA-1 hash of the key."""
    if response.responder_name is not None:
        return response.responder_name == certificate.subject
    try:
        digest = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
    except PARSE_ERRORS:
        return False
    return hmac.compare_digest(response.responder_key_hash or b"", digest)


def _authorised(candidate: x509.Certificate, issuer: x509.Certificate, now: dt.datetime) -> bool:
    """RFC 6960 §4.2.2.2: issued directly by the CA, with OCSPSigning, valid now."""
    try:
        candidate.verify_directly_issued_by(issuer)
        usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound):
        return False
    in_time = candidate.not_valid_before_utc <= now <= candidate.not_valid_after_utc
    return in_time and ExtendedKeyUsageOID.OCSP_SIGNING in usage


def check_nonce(response: ocsp.OCSPResponse, nonce: bytes) -> None:
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        raise NonceMismatch("the response carries no nonce") from None
    except PARSE_ERRORS:
        raise ResponseMalformed("unreadable response extensions") from None
    if not hmac.compare_digest(echoed, nonce):
        raise NonceMismatch("the response nonce is not ours")


def check_this_update_fresh(
    single: ocsp.OCSPSingleResponse, now: dt.datetime, skew: dt.timedelta, max_age: dt.timedelta
) -> None:
    """Not from the future, not past nextUpdate; without nextUpdate, at most ``max_age`` old.

    An answer without nextUpdate is current only when made (RFC 6960 §4.2.2.1): the policy is to
    accept it within ``ocsp_max_age`` for the one check that asked and never cache it
    (``ocsp_cache.OcspCache.put``; docs/operators.md §7)."""
    this_update, next_update = single.this_update_utc, single.next_update_utc
    if this_update > now + skew:
        raise ResponseStale("thisUpdate lies in the future")
    if next_update is not None and next_update < now - skew:
        raise ResponseStale(f"nextUpdate {next_update.isoformat()} has passed")
    if next_update is None and this_update < now - max_age:
        raise ResponseStale("thisUpdate too old and no nextUpdate")


def check_status(single: ocsp.OCSPSingleResponse) -> None:
    """Good passes; revoked and hold are final; unknown is refused, never accepted."""
    status = single.certificate_status
    if status is ocsp.OCSPCertStatus.GOOD:
        return
    if status is ocsp.OCSPCertStatus.UNKNOWN:
        raise StatusUnknown("the responder does not know this certificate")
    reason = single.revocation_reason
    if reason is x509.ReasonFlags.certificate_hold:
        raise CertificateOnHold("suspended (certificateHold) per OCSP")
    name = reason.value if reason is not None else "unspecified"
    raise CertificateRevoked(
        f"revoked ({name}) per OCSP",
        revocation_reason=name,
        revoked_at=single.revocation_time_utc,
    )
