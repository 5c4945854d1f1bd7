"""Loading a certificate from untrusted bytes, so that every later check sees a parsed object.

cryptography parses lazily: a broken extension only fails when first read. We read every part a
check will need here, once, so a malformed certificate is refused as ``malformed`` at the door
instead of surfacing as some other exception deep inside a check.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization

from idp.jpki.errors import Malformed

PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.InvalidVersion,
    x509.UnsupportedGeneralNameType,
)
"""What cryptography raises for bad DER; anything of these becomes ``Malformed``."""

MAX_CERTIFICATE_BYTES = 16 * 1024
"""A JPKI certificate is about 1.5 kB; far larger input is refused before parsing."""


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse PEM or DER into a fully read certificate, or raise ``Malformed``."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise Malformed("empty certificate")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise Malformed("certificate too large")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(bytes(data))
        else:
            certificate = x509.load_der_x509_certificate(bytes(data))
        _touch(certificate)
    except PARSE_ERRORS as error:
        raise Malformed(f"certificate does not parse: {type(error).__name__}") from None
    return certificate


def _touch(certificate: x509.Certificate) -> None:
    """Force the lazy parts to parse now (see the module docstring)."""
    certificate.public_key()
    for extension in certificate.extensions:
        _ = extension.value
    _ = (certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string())
    _ = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
    _ = (certificate.serial_number, certificate.signature_algorithm_oid, certificate.version)
    certificate.public_bytes(serialization.Encoding.DER)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER, upper-case hex: how docs/jpki.md §4 and operators name a certificate."""
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


def serial_hex(certificate: x509.Certificate) -> str:
    return f"{certificate.serial_number:X}"
