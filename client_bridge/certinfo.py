"""Human-readable summaries of the card's certificates for ``read-certs`` and ``selftest``.

Only the subject of the user-authentication certificate is shown (it holds no personal data); the
signing certificate's subject and alternative names carry the holder's four facts, so they are
never printed (docs/jpki.md §2, §7).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization


def pem(der: bytes) -> str:
    certificate = x509.load_der_x509_certificate(der)
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def describe_certificate(der: bytes, show_subject: bool = True) -> str:
    """Subject (optional), issuer, serial, validity and SHA-256 fingerprint, one per line."""
    certificate = x509.load_der_x509_certificate(der)
    lines = []
    if show_subject:
        lines.append(f"  subject:  {certificate.subject.rfc4514_string()}")
    lines += [
        f"  issuer:   {certificate.issuer.rfc4514_string()}",
        f"  serial:   {certificate.serial_number:X}",
        f"  valid:    {certificate.not_valid_before_utc:%Y-%m-%d} to "
        f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
        f"  SHA-256:  {certificate.fingerprint(hashes.SHA256()).hex().upper()}",
    ]
    return "\n".join(lines)
