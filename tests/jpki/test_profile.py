"""Certificate profiles: each property's check refuses with its own reason."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ObjectIdentifier

from idp.jpki import profile
from idp.jpki.certificate import load_certificate
from idp.jpki.errors import Malformed, WrongCertificateType
from idp.jpki.settings import CertificateType
from sandbox import pki, profiles
from sandbox.profiles import CertKind

NOW = dt.datetime.now(dt.UTC)


def test_auth_certificate_is_classified_as_auth(auth_ca, card_key):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    assert profile.classify(certificate) is CertificateType.AUTH
    profile.check_profile(certificate, CertificateType.AUTH)


def test_sign_certificate_is_classified_as_sign(sign_ca, card_key):
    certificate = pki.make_sign_certificate(sign_ca, card_key.public_key(), now=NOW)
    assert profile.classify(certificate) is CertificateType.SIGN
    profile.check_profile(certificate, CertificateType.SIGN)


def test_sign_certificate_for_login_is_wrong_certificate_type(sign_ca, card_key):
    certificate = pki.make_sign_certificate(sign_ca, card_key.public_key(), now=NOW)
    with pytest.raises(WrongCertificateType) as refused:
        profile.check_profile(certificate, CertificateType.AUTH)
    assert refused.value.reason == "wrong_certificate_type"


def test_auth_certificate_for_identity_is_wrong_certificate_type(auth_ca, card_key):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    with pytest.raises(WrongCertificateType):
        profile.check_profile(certificate, CertificateType.SIGN)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"key_usage": profiles.key_usage(CertKind.SIGN)}, id="nonRepudiation-on-auth"),
        pytest.param({"key_usage": profiles.ca_key_usage()}, id="keyCertSign"),
        pytest.param({"omit": [x509.KeyUsage]}, id="no-key-usage"),
        pytest.param({"omit": [x509.CertificatePolicies]}, id="no-policy"),
        pytest.param(
            {"policies": x509.CertificatePolicies(
                [x509.PolicyInformation(ObjectIdentifier("1.2.3.4"), None)])},
            id="other-policy",
        ),
        pytest.param(
            {"extra_extensions": [(x509.UnrecognizedExtension(
                ObjectIdentifier("1.2.3.4.5"), b"\x05\x00"), True)]},
            id="unknown-critical-extension",
        ),
        pytest.param(
            {"extra_extensions": [(x509.BasicConstraints(ca=True, path_length=None), True)]},
            id="ca-certificate",
        ),
    ],
)  # fmt: skip
def test_bent_auth_certificate_is_wrong_certificate_type(auth_ca, card_key, options):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW, **options)
    with pytest.raises(WrongCertificateType):
        profile.check_profile(certificate, CertificateType.AUTH)


def test_rsa_1024_key_is_wrong_certificate_type(auth_ca):
    certificate = pki.make_auth_certificate(auth_ca, pki.new_key(1024).public_key(), now=NOW)
    with pytest.raises(WrongCertificateType, match="RSA-2048"):
        profile.check_key(certificate)


def test_ec_key_is_wrong_certificate_type(auth_ca):
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    certificate = pki.make_auth_certificate(auth_ca, key, now=NOW)
    with pytest.raises(WrongCertificateType, match="not an RSA key"):
        profile.check_key(certificate)


@pytest.mark.parametrize(
    "data", [b"", b"garbage", b"0\x82\x01\x00", b"-----BEGIN CERTIFICATE-----\n"]
)
def test_garbage_certificate_is_malformed(data):
    with pytest.raises(Malformed) as refused:
        load_certificate(data)
    assert refused.value.reason == "malformed"


def test_pem_and_der_both_load(auth_ca, card_key):
    from cryptography.hazmat.primitives import serialization

    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    for encoding in (serialization.Encoding.PEM, serialization.Encoding.DER):
        assert load_certificate(certificate.public_bytes(encoding)) == certificate
