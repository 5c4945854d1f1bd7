"""A J-LIS-like test PKI: two roots, their delegated OCSP responders, and card certificates.

Every certificate a test needs is made here at test time (docs/contributing.md §7): each factory
takes the knobs that produce one failure (``expired=True``, a foreign ``issuer``, a different
``key_usage``), so no test carries a base64 blob.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox import citizens, profiles
from sandbox.profiles import CertKind, Endpoints

CA_YEARS = 10
RESPONDER_DAYS = 365
DEFAULT_BASE_URL = "http://127.0.0.1:8002"


def new_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """RSA with e=65537, as on the card."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass(frozen=True)
class Issuer:
    """A key and the certificate that names it: a CA or a delegated OCSP responder."""

    key: CertificateIssuerPrivateKeyTypes
    certificate: x509.Certificate


@dataclass(frozen=True)
class CertificateAuthority:
    """One J-LIS root with its delegated OCSP responder."""

    kind: CertKind
    root: Issuer
    responder: Issuer

    @property
    def certificate(self) -> x509.Certificate:
        return self.root.certificate

    @property
    def key(self) -> CertificateIssuerPrivateKeyTypes:
        return self.root.key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def make_root(
    kind: CertKind,
    *,
    now: dt.datetime,
    key: rsa.RSAPrivateKey | None = None,
    organization: str = profiles.TEST_ORGANIZATION,
    years: int = CA_YEARS,
) -> Issuer:
    """A self-signed root shaped like J-LIS's (keyCertSign and cRLSign, Japanese SAN)."""
    key = key or new_key()
    name = profiles.ca_name(kind, organization)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        _builder(
            name,
            name,
            key.public_key(),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365 * years),
            None,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(profiles.ca_key_usage(), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(profiles.ca_alt_name(kind), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issuer(key, certificate)


def make_responder(
    root: Issuer,
    *,
    now: dt.datetime,
    days: int = RESPONDER_DAYS,
    usages: Sequence[x509.ObjectIdentifier] = (ExtendedKeyUsageOID.OCSP_SIGNING,),
) -> Issuer:
    """A delegated OCSP responder certificate issued by the root (RFC 6960 §4.2.2.2).

    ``usages`` replaces its extended key usages, for a responder the CA did not authorise."""
    key = new_key()
    subject = x509.Name(
        [
            *root.certificate.subject,
            x509.NameAttribute(NameOID.COMMON_NAME, "OCSP Responder"),
        ]
    )
    certificate = (
        _builder(
            subject,
            root.certificate.subject,
            key.public_key(),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=days),
            None,
        )
        .add_extension(profiles.responder_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(_aki(root), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return Issuer(key, certificate)


def make_ca(kind: CertKind, *, now: dt.datetime, **root_options: object) -> CertificateAuthority:
    """A root and its responder, as ``jpki-sandbox init`` creates them."""
    root = make_root(kind, now=now, **root_options)  # type: ignore[arg-type]
    return CertificateAuthority(kind, root, make_responder(root, now=now))


def _aki(issuer: Issuer) -> x509.AuthorityKeyIdentifier:
    ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def expiry_for(birthdate: dt.date, issued: dt.datetime) -> dt.datetime:
    """23:59:59 JST on the fifth birthday after issue (docs/jpki.md §2)."""
    year = issued.astimezone(profiles.JST).year + 5
    try:
        birthday = birthdate.replace(year=year)
    except ValueError:  # 29 February in a common year: the day before
        birthday = dt.date(year, 2, 28)
    end = dt.datetime.combine(birthday, dt.time(23, 59, 59), profiles.JST)
    return end.astimezone(dt.UTC)


def opaque_id() -> str:
    """The subject CN: an identifier that says nothing about the person."""
    return f"{x509.random_serial_number():040X}"[:26]


def _validity(
    now: dt.datetime,
    birthdate: dt.date,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    expired: bool,
    not_yet_valid: bool,
) -> tuple[dt.datetime, dt.datetime]:
    if expired:
        return now - dt.timedelta(days=5 * 365), now - dt.timedelta(days=1)
    if not_yet_valid:
        return now + dt.timedelta(days=1), now + dt.timedelta(days=5 * 365)
    start = not_before or now - dt.timedelta(minutes=5)
    return start, not_after or expiry_for(birthdate, now)


def make_card_certificate(
    kind: CertKind,
    issuer: Issuer,
    public_key: CertificatePublicKeyTypes,
    citizen: citizens.Citizen,
    *,
    now: dt.datetime,
    endpoints: Endpoints | None = None,
    serial: int | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    expired: bool = False,
    not_yet_valid: bool = False,
    key_usage: x509.KeyUsage | None = None,
    policies: x509.CertificatePolicies | None = None,
    omit: Sequence[type[x509.ExtensionType]] = (),
    extra_extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
    san: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    """A card certificate with the real profile; every keyword after ``now`` bends it for a test.

    ``omit`` drops extensions by class, ``extra_extensions`` adds ``(extension, critical)`` pairs,
    ``san`` replaces the signing certificate's basic four facts.
    """
    endpoints = endpoints or Endpoints(DEFAULT_BASE_URL)
    start, end = _validity(now, citizen.birthdate, not_before, not_after, expired, not_yet_valid)
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (key_usage or profiles.key_usage(kind), True),
        (policies or profiles.certificate_policies(kind), True),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        (_aki(issuer), False),
        (profiles.issuer_alt_name(), False),
        (endpoints.crl_distribution_points(kind), False),
        (endpoints.freshest_crl(kind), False),
        (endpoints.aia(kind), False),
    ]
    if kind is CertKind.SIGN:
        extensions.insert(2, (san or citizens.basic_four_facts(citizen), False))
    builder = _builder(
        _subject(kind, citizen), issuer.certificate.subject, public_key, start, end, serial
    )
    for extension, critical in [*extensions, *extra_extensions]:
        if type(extension) not in omit:
            builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer.key, hashes.SHA256())


def _subject(kind: CertKind, citizen: citizens.Citizen) -> x509.Name:
    """Auth: ``C=JP, CN=<opaque id>``; signing: also prefecture and municipality (docs/jpki.md
    §2)."""
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "JP")]
    if kind is CertKind.SIGN:
        prefecture = citizens.PREFECTURES[citizen.prefecture]
        attributes += [
            x509.NameAttribute(NameOID.LOCALITY_NAME, prefecture),
            x509.NameAttribute(NameOID.LOCALITY_NAME, citizen.municipality),
        ]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, opaque_id()))
    return x509.Name(attributes)


def make_auth_certificate(
    ca: CertificateAuthority,
    public_key: CertificatePublicKeyTypes | None = None,
    citizen: citizens.Citizen = citizens.SAMPLE_CITIZENS[0],
    *,
    now: dt.datetime | None = None,
    **options: object,
) -> x509.Certificate:
    """A user-authentication certificate; see :func:`make_card_certificate` for the options."""
    return make_card_certificate(
        CertKind.AUTH,
        ca.root,
        public_key or new_key().public_key(),
        citizen,
        now=now or dt.datetime.now(dt.UTC),
        **options,  # type: ignore[arg-type]
    )


def make_sign_certificate(
    ca: CertificateAuthority,
    public_key: CertificatePublicKeyTypes | None = None,
    citizen: citizens.Citizen = citizens.SAMPLE_CITIZENS[0],
    *,
    now: dt.datetime | None = None,
    **options: object,
) -> x509.Certificate:
    """A signing certificate carrying the basic four facts; options as for the auth certificate."""
    return make_card_certificate(
        CertKind.SIGN,
        ca.root,
        public_key or new_key().public_key(),
        citizen,
        now=now or dt.datetime.now(dt.UTC),
        **options,  # type: ignore[arg-type]
    )
