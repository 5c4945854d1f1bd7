"""J-LIS certificate profiles, as docs/jpki.md §2 describes them.

The sandbox defines its own copy of every name and OID instead of importing the IdP's: it plays
J-LIS, and a mistake shared by both sides would hide from every test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

JST = dt.timezone(dt.timedelta(hours=9), "JST")
JLIS_OU = "Japan Agency for Local Authority Information Systems"
TEST_ORGANIZATION = "JPKI-TEST"
"""Real roots say ``O=JPKI``; test roots say this, so production configuration can refuse them."""


class CertKind(StrEnum):
    """The card's two certificates, named as the ``jpki-sandbox --cert`` option names them."""

    AUTH = "auth"
    SIGN = "sign"


CA_UNIT = {
    CertKind.AUTH: "JPKI for user authentication",
    CertKind.SIGN: "JPKI for digital signature",
}
CA_UNIT_JA = {
    CertKind.AUTH: "公的個人認証サービス利用者証明用",
    CertKind.SIGN: "公的個人認証サービス署名用",
}
POLICY = {
    CertKind.AUTH: ObjectIdentifier("1.2.392.200149.8.5.1.3.30"),
    CertKind.SIGN: ObjectIdentifier("1.2.392.200149.8.5.1.1.20"),
}
CPS_URI = "https://www.jpki.go.jp/ca/cps.html"

# Signing certificate subjectAltName otherNames (docs/jpki.md §2), in the order real cards carry
# them.
OID_NAME = ObjectIdentifier("1.2.392.200149.8.5.5.1")
OID_NAME_FLAGS = ObjectIdentifier("1.2.392.200149.8.5.5.2")
OID_GENDER = ObjectIdentifier("1.2.392.200149.8.5.5.3")
OID_BIRTHDATE = ObjectIdentifier("1.2.392.200149.8.5.5.4")
OID_ADDRESS = ObjectIdentifier("1.2.392.200149.8.5.5.5")
OID_ADDRESS_FLAGS = ObjectIdentifier("1.2.392.200149.8.5.5.6")
SAN_ORDER = (OID_NAME, OID_BIRTHDATE, OID_GENDER, OID_ADDRESS, OID_NAME_FLAGS, OID_ADDRESS_FLAGS)


def ca_name(kind: CertKind, organization: str = TEST_ORGANIZATION) -> x509.Name:
    """The CA's DN: C (PrintableString), then UTF8String O and OUs, as J-LIS writes it."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_UNIT[kind]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, JLIS_OU),
        ]
    )


def ca_alt_name(kind: CertKind) -> x509.SubjectAlternativeName:
    """Real J-LIS roots carry their Japanese name as a directoryName SAN."""
    return x509.SubjectAlternativeName(
        [
            x509.DirectoryName(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_UNIT_JA[kind]),
                        x509.NameAttribute(
                            NameOID.ORGANIZATIONAL_UNIT_NAME, "地方公共団体情報システム機構"
                        ),
                    ]
                )
            )
        ]
    )


def issuer_alt_name() -> x509.IssuerAlternativeName:
    """Both card certificates name J-LIS in Japanese here."""
    return x509.IssuerAlternativeName(
        [
            x509.DirectoryName(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "公的個人認証サービス"),
                    ]
                )
            )
        ]
    )


def certificate_policies(kind: CertKind) -> x509.CertificatePolicies:
    """The JPKI policy with its CPS qualifier (marked critical by the caller, as J-LIS does)."""
    return x509.CertificatePolicies([x509.PolicyInformation(POLICY[kind], [CPS_URI])])


def key_usage(kind: CertKind) -> x509.KeyUsage:
    """digitalSignature for both; nonRepudiation too for the signing certificate."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=kind is CertKind.SIGN,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def ca_key_usage() -> x509.KeyUsage:
    """A root that signs certificates and CRLs and nothing else."""
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def responder_key_usage() -> x509.KeyUsage:
    """A delegated OCSP responder signs responses only."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Endpoints:
    """Where the sandbox serves revocation data; written into AIA and CRL distribution points."""

    base_url: str

    def ocsp_url(self, kind: CertKind) -> str:
        return f"{self.base_url.rstrip('/')}/ocsp/{kind}"

    def crl_url(self, kind: CertKind) -> str:
        return f"{self.base_url.rstrip('/')}/crl/{kind}.crl"

    def delta_crl_url(self, kind: CertKind) -> str:
        return f"{self.base_url.rstrip('/')}/crl/{kind}-delta.crl"

    def aia(self, kind: CertKind) -> x509.AuthorityInformationAccess:
        return x509.AuthorityInformationAccess(
            [
                x509.AccessDescription(
                    x509.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(self.ocsp_url(kind)),
                )
            ]
        )

    def crl_distribution_points(self, kind: CertKind) -> x509.CRLDistributionPoints:
        return x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(self.crl_url(kind))],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        )

    def freshest_crl(self, kind: CertKind) -> x509.FreshestCRL:
        """Points at the delta CRL (RFC 5280 §5.2.6)."""
        return x509.FreshestCRL(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(self.delta_crl_url(kind))],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        )
