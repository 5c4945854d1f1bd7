"""The sandbox's certificates follow the J-LIS profiles of docs/jpki.md §2."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox import citizens, pki, profiles
from sandbox.profiles import CertKind

NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)
JLIS_OU = "Japan Agency for Local Authority Information Systems"


@pytest.fixture(scope="module")
def auth_ca() -> pki.CertificateAuthority:
    return pki.make_ca(CertKind.AUTH, now=NOW)


@pytest.fixture(scope="module")
def sign_ca() -> pki.CertificateAuthority:
    return pki.make_ca(CertKind.SIGN, now=NOW)


def _other_names(certificate: x509.Certificate) -> list[tuple[str, bytes]]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [(name.type_id.dotted_string, name.value) for name in san]


def test_root_is_a_self_signed_test_ca_named_like_jlis(auth_ca: pki.CertificateAuthority) -> None:
    root = auth_ca.certificate
    assert root.subject == root.issuer
    assert [a.value for a in root.subject] == [
        "JP",
        "JPKI-TEST",
        "JPKI for user authentication",
        JLIS_OU,
    ]
    assert root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0]._type.name == (
        "PrintableString"
    )
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = root.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    root.verify_directly_issued_by(root)


def test_responder_is_delegated_by_its_ca(sign_ca: pki.CertificateAuthority) -> None:
    responder = sign_ca.responder.certificate
    responder.verify_directly_issued_by(sign_ca.certificate)
    usage = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    responder.extensions.get_extension_for_class(x509.OCSPNoCheck)


def test_auth_certificate_carries_no_personal_data(auth_ca: pki.CertificateAuthority) -> None:
    certificate = pki.make_auth_certificate(auth_ca, now=NOW)
    certificate.verify_directly_issued_by(auth_ca.certificate)
    assert [a.oid for a in certificate.subject] == [NameOID.COUNTRY_NAME, NameOID.COMMON_NAME]
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.content_commitment
    policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    assert policies.critical
    assert [p.policy_identifier.dotted_string for p in policies.value] == [
        "1.2.392.200149.8.5.1.3.30"
    ]


def test_card_certificates_point_at_the_sandbox_services(auth_ca: pki.CertificateAuthority) -> None:
    endpoints = profiles.Endpoints("http://127.0.0.1:9999")
    certificate = pki.make_auth_certificate(auth_ca, now=NOW, endpoints=endpoints)
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == ["http://127.0.0.1:9999/ocsp/auth"]
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == "http://127.0.0.1:9999/crl/auth.crl"


def test_signing_certificate_carries_the_four_facts_in_card_order(
    sign_ca: pki.CertificateAuthority,
) -> None:
    citizen = citizens.SAMPLE_CITIZENS[0]
    certificate = pki.make_sign_certificate(sign_ca, citizen=citizen, now=NOW)
    names = _other_names(certificate)
    assert [oid for oid, _ in names] == [f"1.2.392.200149.8.5.5.{i}" for i in (1, 4, 3, 5, 2, 6)]
    values = {oid: value[2:].decode() for oid, value in names}
    assert all(value[0] == 0x0C for _, value in names)  # UTF8String
    assert values["1.2.392.200149.8.5.5.1"] == "山田　花子"
    assert values["1.2.392.200149.8.5.5.4"] == "319850412"
    assert values["1.2.392.200149.8.5.5.3"] == "2"
    assert values["1.2.392.200149.8.5.5.5"] == citizen.address
    assert values["1.2.392.200149.8.5.5.2"] == "00000"
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    localities = certificate.subject.get_attributes_for_oid(NameOID.LOCALITY_NAME)
    assert [a.value for a in localities] == ["Tokyo-to", "Kiyose-shi"]


def test_name_outside_jis_level_1_and_2_is_substituted_and_flagged() -> None:
    assert citizens.substitute("髙橋　一郎") == ("高橋　一郎", "10000")
    assert citizens.substitute("𠀋田") == ("〓田", "10")


@pytest.mark.parametrize(
    ("birthdate", "expected"),
    [
        (dt.date(1926, 12, 24), "219261224"),
        (dt.date(1926, 12, 25), "319261225"),
        (dt.date(1989, 1, 7), "319890107"),
        (dt.date(1989, 1, 8), "419890108"),
        (dt.date(2019, 4, 30), "420190430"),
        (dt.date(2019, 5, 1), "520190501"),
    ],
)
def test_birthdate_carries_the_era_of_that_day(birthdate: dt.date, expected: str) -> None:
    assert citizens.era_birthdate(birthdate) == expected


def test_certificate_expires_at_jst_midnight_of_the_fifth_birthday() -> None:
    end = pki.expiry_for(dt.date(1985, 4, 12), NOW)
    assert end == dt.datetime(2031, 4, 12, 14, 59, 59, tzinfo=dt.UTC)
    leap = pki.expiry_for(dt.date(2000, 2, 29), NOW)
    assert leap == dt.datetime(2031, 2, 28, 14, 59, 59, tzinfo=dt.UTC)


def test_knobs_bend_one_property_each(auth_ca: pki.CertificateAuthority) -> None:
    expired = pki.make_auth_certificate(auth_ca, now=NOW, expired=True)
    assert expired.not_valid_after_utc < NOW
    future = pki.make_auth_certificate(auth_ca, now=NOW, not_yet_valid=True)
    assert future.not_valid_before_utc > NOW
    bare = pki.make_auth_certificate(auth_ca, now=NOW, omit=[x509.CertificatePolicies])
    with pytest.raises(x509.ExtensionNotFound):
        bare.extensions.get_extension_for_class(x509.CertificatePolicies)
