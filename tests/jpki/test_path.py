"""Path validation to the configured roots."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from idp.jpki.errors import CertificateExpired, CertificateNotYetValid, PathInvalid, UntrustedIssuer
from idp.jpki.path import validate_path
from idp.jpki.settings import CertificateType
from sandbox import pki
from sandbox.profiles import CertKind

NOW = dt.datetime.now(dt.UTC)
AUTH = CertificateType.AUTH


def test_certificate_of_the_configured_root_validates(auth_ca, card_key):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    assert validate_path(certificate, (auth_ca.certificate,), AUTH, NOW) == auth_ca.certificate


def test_expired_certificate_is_expired(auth_ca, card_key):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW, expired=True)
    with pytest.raises(CertificateExpired) as refused:
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW)
    assert refused.value.reason == "expired"


def test_future_certificate_is_not_yet_valid(auth_ca, card_key):
    certificate = pki.make_auth_certificate(
        auth_ca, card_key.public_key(), now=NOW, not_yet_valid=True
    )
    with pytest.raises(CertificateNotYetValid) as refused:
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW)
    assert refused.value.reason == "not_yet_valid"


def test_time_is_a_parameter(auth_ca, card_key):
    certificate = pki.make_auth_certificate(auth_ca, card_key.public_key(), now=NOW)
    with pytest.raises(CertificateExpired):
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW + dt.timedelta(days=6 * 365))


def test_certificate_of_a_same_named_forged_ca_is_untrusted_issuer(auth_ca, foreign_ca, card_key):
    certificate = pki.make_auth_certificate(foreign_ca, card_key.public_key(), now=NOW)
    with pytest.raises(PathInvalid) as refused:
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW)
    assert refused.value.reason == "untrusted_issuer"


def test_certificate_of_the_signing_ca_is_untrusted_for_login(auth_ca, sign_ca, card_key):
    certificate = pki.make_sign_certificate(sign_ca, card_key.public_key(), now=NOW)
    with pytest.raises(UntrustedIssuer):
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW)


def test_rollover_old_and_new_roots_both_validate(auth_ca, foreign_ca, card_key):
    """Two generations share one DN (docs/jpki.md §4): issuer by name, then by signature."""
    anchors = (foreign_ca.certificate, auth_ca.certificate)
    for ca in (auth_ca, foreign_ca):
        certificate = pki.make_auth_certificate(ca, card_key.public_key(), now=NOW)
        assert validate_path(certificate, anchors, AUTH, NOW) == ca.certificate


def test_unknown_critical_extension_fails_path_validation(auth_ca, card_key):
    extension = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00")
    certificate = pki.make_auth_certificate(
        auth_ca, card_key.public_key(), now=NOW, extra_extensions=[(extension, True)]
    )
    with pytest.raises(PathInvalid):
        validate_path(certificate, (auth_ca.certificate,), AUTH, NOW)


def test_expired_root_fails_path_validation(card_key):
    old = pki.make_ca(CertKind.AUTH, now=NOW - dt.timedelta(days=3 * 365), years=1)
    certificate = pki.make_auth_certificate(old, card_key.public_key(), now=NOW)
    with pytest.raises(PathInvalid):
        validate_path(certificate, (old.certificate,), AUTH, NOW)
