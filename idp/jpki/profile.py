"""The two JPKI card certificate profiles (docs/jpki.md §2) and one check per property.

``classify`` says which profile a certificate matches; ``check_profile`` refuses anything that is
not exactly the profile the caller needs (docs/contributing.md §2: one function per property, each
raising its own error). Names and OIDs are our own copy, not the sandbox's: a mistake shared by both
sides would hide from every test.
"""

from __future__ import annotations

from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier, SignatureAlgorithmOID

from idp.jpki.errors import Malformed, WrongCertificateType
from idp.jpki.settings import CertificateType

POLICY = {
    CertificateType.AUTH: ObjectIdentifier("1.2.392.200149.8.5.1.3.30"),
    CertificateType.SIGN: ObjectIdentifier("1.2.392.200149.8.5.1.1.20"),
}
TEST_CARD_POLICY = {CertificateType.SIGN: ObjectIdentifier("1.2.392.200149.8.5.1.0.20")}
"""J-LIS test cards carry this signing policy; accepted only where test roots are."""

CA_UNIT = {
    CertificateType.AUTH: "JPKI for user authentication",
    CertificateType.SIGN: "JPKI for digital signature",
}
KEY_BITS = 2048
PUBLIC_EXPONENT = 65537
_T = TypeVar("_T", bound=x509.ExtensionType)
ALLOWED_CRITICAL = {x509.KeyUsage.oid, x509.CertificatePolicies.oid, x509.BasicConstraints.oid}
"""RFC 5280 §4.2: an unknown critical extension must make the certificate unusable."""


def classify(certificate: x509.Certificate) -> CertificateType:
    """The type whose issuer unit, policy and key usage the certificate carries, or refuse."""
    for kind in CertificateType:
        if _issuer_unit(certificate) == CA_UNIT[kind] and _has_policy(certificate, kind, True):
            return kind
    raise WrongCertificateType("neither a JPKI authentication nor a signing certificate")


def check_profile(
    certificate: x509.Certificate, expected: CertificateType, *, allow_test_policy: bool = False
) -> None:
    """All profile checks, in order; the first failure raises."""
    check_version(certificate)
    check_serial_number(certificate)
    check_type(certificate, expected)
    check_key(certificate)
    check_signature_algorithm(certificate)
    check_key_usage(certificate, expected)
    check_policy(certificate, expected, allow_test_policy=allow_test_policy)
    check_not_a_ca(certificate)
    check_critical_extensions(certificate)


def check_version(certificate: x509.Certificate) -> None:
    if certificate.version is not x509.Version.v3:
        raise Malformed("not an X.509 v3 certificate")


def check_serial_number(certificate: x509.Certificate) -> None:
    """RFC 5280 §4.1.2.2: positive, at most 20 octets; revocation lookups key on it."""
    serial = certificate.serial_number
    if serial <= 0 or serial.bit_length() > 160:
        raise Malformed("serial number out of range")


def check_type(certificate: x509.Certificate, expected: CertificateType) -> None:
    """A signing certificate is never accepted for login, nor the reverse."""
    actual = classify(certificate)
    if actual is not expected:
        raise WrongCertificateType(f"a {actual} certificate where a {expected} one is required")


def check_key(certificate: x509.Certificate) -> None:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WrongCertificateType("not an RSA key")
    if key.key_size != KEY_BITS or key.public_numbers().e != PUBLIC_EXPONENT:
        raise WrongCertificateType("not an RSA-2048 key with e=65537")


def check_signature_algorithm(certificate: x509.Certificate) -> None:
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.RSA_WITH_SHA256:
        raise WrongCertificateType("not signed with sha256WithRSAEncryption")


def check_key_usage(certificate: x509.Certificate, expected: CertificateType) -> None:
    """Critical; digitalSignature, plus nonRepudiation for signing; nothing else."""
    extension = _extension(certificate, x509.KeyUsage)
    if extension is None or not extension.critical:
        raise WrongCertificateType("keyUsage missing or not critical")
    usage = extension.value
    wanted = {"digital_signature"} | ({"content_commitment"} if expected == "sign" else set())
    present = {name for name in _KEY_USAGE_FLAGS if getattr(usage, name)}
    if present != wanted:
        raise WrongCertificateType(f"keyUsage {sorted(present)} is not {sorted(wanted)}")


_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def check_policy(
    certificate: x509.Certificate, expected: CertificateType, *, allow_test_policy: bool
) -> None:
    if not _has_policy(certificate, expected, allow_test_policy):
        raise WrongCertificateType(f"the JPKI {expected} certificate policy is missing")


def check_not_a_ca(certificate: x509.Certificate) -> None:
    extension = _extension(certificate, x509.BasicConstraints)
    if extension is not None and extension.value.ca:
        raise WrongCertificateType("a CA certificate is not a card certificate")


def check_critical_extensions(certificate: x509.Certificate) -> None:
    for extension in certificate.extensions:
        if extension.critical and extension.oid not in ALLOWED_CRITICAL:
            raise WrongCertificateType(f"unknown critical extension {extension.oid.dotted_string}")


def _has_policy(certificate: x509.Certificate, kind: CertificateType, allow_test: bool) -> bool:
    extension = _extension(certificate, x509.CertificatePolicies)
    if extension is None:
        return False
    accepted = {POLICY[kind]}
    if allow_test and kind in TEST_CARD_POLICY:
        accepted.add(TEST_CARD_POLICY[kind])
    return any(info.policy_identifier in accepted for info in extension.value)


def _issuer_unit(certificate: x509.Certificate) -> str | None:
    attributes = certificate.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    units = [attribute.value for attribute in attributes]
    return next((unit for unit in units if unit in CA_UNIT.values()), None)  # type: ignore[misc]


def _extension(certificate: x509.Certificate, kind: type[_T]) -> x509.Extension[_T] | None:
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None
