"""OCSP responses: the test-time factory and the responder's answers from the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp as x509_ocsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import ocsp, pki
from sandbox.profiles import CertKind
from sandbox.state import RegistryEntry, SandboxState
from tests.sandbox.revocation_helpers import nonce_of, ocsp_signed_by, openssl, write_pem

NOW = dt.datetime(2026, 4, 1, 3, 0, 0, tzinfo=dt.UTC)
HELD_AT = NOW - dt.timedelta(days=2)
REVOKED_AT = NOW - dt.timedelta(days=1)
NONCE = bytes(range(16))


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    return SandboxState.init(tmp_path_factory.mktemp("ocsp"), "http://127.0.0.1:8002")


@pytest.fixture(scope="module")
def ca(state: SandboxState) -> pki.CertificateAuthority:
    return state.ca(CertKind.AUTH)


@pytest.fixture(scope="module")
def certificate(ca: pki.CertificateAuthority) -> x509.Certificate:
    return pki.make_auth_certificate(ca, now=dt.datetime.now(dt.UTC))


@pytest.fixture(scope="module")
def registry() -> dict[int, RegistryEntry]:
    later = (NOW + dt.timedelta(days=900)).isoformat()
    return {
        1: RegistryEntry("c1", later),
        2: RegistryEntry("c2", later, "revoked", REVOKED_AT.isoformat(), "keyCompromise"),
        3: RegistryEntry("c3", later, "hold", HELD_AT.isoformat(), "certificateHold"),
        4: RegistryEntry("c4", later, "good", None, None, NOW.isoformat()),  # released
        5: RegistryEntry("c5", later, "revoked", REVOKED_AT.isoformat(), "unspecified"),
    }


def parse(der: bytes) -> x509_ocsp.OCSPResponse:
    return x509_ocsp.load_der_ocsp_response(der)


def ask(ca, registry, serial: int, **options) -> x509_ocsp.OCSPResponse:
    request = ocsp.make_ocsp_request(serial, ca.certificate, nonce=options.pop("nonce", NONCE))
    return parse(ocsp.respond(ca, registry, request, now=NOW, **options))


# --- the factory -------------------------------------------------------------------------------


def test_factory_good_is_signed_by_the_delegated_responder(ca, certificate) -> None:
    response = parse(make := ocsp.make_ocsp_response(ca, certificate, now=NOW))
    assert make[:1] == b"\x30"
    assert response.response_status is x509_ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == certificate.serial_number
    assert isinstance(response.hash_algorithm, hashes.SHA1)
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + ocsp.DEFAULT_VALIDITY
    assert response.certificates == [ca.responder.certificate]
    assert response.responder_key_hash is not None
    assert ocsp_signed_by(response, ca.responder.certificate)
    assert nonce_of(response) is None


def test_factory_revoked_carries_time_and_reason(ca, certificate) -> None:
    response = parse(
        ocsp.make_ocsp_response(
            ca, certificate, status="revoked", revoked_at=REVOKED_AT, reason="keyCompromise"
        )
    )
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == REVOKED_AT
    assert response.revocation_reason is x509.ReasonFlags.key_compromise


def test_factory_unknown_status(ca, certificate) -> None:
    response = parse(ocsp.make_ocsp_response(ca, certificate, status="unknown"))
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.UNKNOWN


@pytest.mark.parametrize(
    "status", ["tryLater", "internalError", "unauthorized", "malformedRequest", "sigRequired"]
)
def test_factory_error_statuses_are_unsigned(ca, certificate, status: str) -> None:
    response = parse(ocsp.make_ocsp_response(ca, certificate, response_status=status))
    assert response.response_status is ocsp.RESPONSE_STATUSES[status]
    with pytest.raises(ValueError, match="status"):
        _ = response.certificate_status


def test_factory_knobs_bend_one_thing_each(ca, certificate) -> None:
    stale = parse(
        ocsp.make_ocsp_response(
            ca,
            certificate,
            this_update=NOW - dt.timedelta(days=2),
            next_update=NOW - dt.timedelta(days=1),
            nonce=NONCE,
            signer=ca.root,
            responder_id="name",
            include_certs=False,
            hash_algorithm=hashes.SHA256(),
        )
    )
    assert stale.next_update_utc == NOW - dt.timedelta(days=1)
    assert nonce_of(stale) == NONCE
    assert ocsp_signed_by(stale, ca.certificate)
    assert stale.responder_name == ca.certificate.subject
    assert stale.certificates == []
    assert isinstance(stale.hash_algorithm, hashes.SHA256)


def test_factory_may_omit_next_update(ca, certificate) -> None:
    response = parse(
        ocsp.make_ocsp_response(
            ca, certificate, now=NOW, next_update=NOW + dt.timedelta(hours=1), omit_next_update=True
        )
    )
    assert (response.this_update_utc, response.next_update_utc) == (NOW, None)
    assert ocsp_signed_by(response, ca.responder.certificate)


def test_factory_forged_signer_is_not_the_responder(ca, certificate) -> None:
    impostor = pki.make_ca(CertKind.AUTH, now=NOW)
    response = parse(ocsp.make_ocsp_response(ca, certificate, signer=impostor.responder))
    assert not ocsp_signed_by(response, ca.responder.certificate)
    assert response.certificates == [impostor.responder.certificate]


def test_factory_response_verifies_with_openssl(ca, certificate, tmp_path: Path) -> None:
    ca_pem = write_pem(tmp_path / "ca.pem", ca.certificate)
    cert_pem = write_pem(tmp_path / "cert.pem", certificate)
    der = ocsp.make_ocsp_response(ca, certificate, status="revoked", reason="affiliationChanged")
    (tmp_path / "resp.der").write_bytes(der)
    args = ["ocsp", "-respin", tmp_path / "resp.der", "-issuer", ca_pem, "-cert", cert_pem]
    result = openssl(*args, "-CAfile", ca_pem, "-resp_text")
    assert "Response verify OK" in result.stdout, result.stdout
    assert f"{cert_pem}: revoked" in result.stdout
    assert "Reason: affiliationChanged" in result.stdout


def test_factory_impostor_fails_openssl_verification(ca, certificate, tmp_path: Path) -> None:
    ca_pem = write_pem(tmp_path / "ca.pem", ca.certificate)
    cert_pem = write_pem(tmp_path / "cert.pem", certificate)
    impostor = pki.make_ca(CertKind.AUTH, now=NOW)
    (tmp_path / "resp.der").write_bytes(
        ocsp.make_ocsp_response(ca, certificate, signer=impostor.responder)
    )
    args = ["ocsp", "-respin", tmp_path / "resp.der", "-issuer", ca_pem, "-cert", cert_pem]
    result = openssl(*args, "-CAfile", ca_pem)
    assert "Response Verify Failure" in result.stdout, result.stdout


# --- answers from the registry -----------------------------------------------------------------


def test_registered_good_serial_is_good_and_nonce_echoed(ca, registry) -> None:
    response = ask(ca, registry, 1)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == 1
    assert nonce_of(response) == NONCE
    assert response.this_update_utc == NOW
    assert response.next_update_utc == NOW + dt.timedelta(hours=1)
    assert ocsp_signed_by(response, ca.responder.certificate)


def test_revoked_serial_is_revoked_with_time_and_reason(ca, registry) -> None:
    response = ask(ca, registry, 2)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == REVOKED_AT
    assert response.revocation_reason is x509.ReasonFlags.key_compromise


def test_held_serial_is_revoked_with_certificate_hold(ca, registry) -> None:
    response = ask(ca, registry, 3)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == HELD_AT
    assert response.revocation_reason is x509.ReasonFlags.certificate_hold


def test_released_serial_is_good_again(ca, registry) -> None:
    assert ask(ca, registry, 4).certificate_status is x509_ocsp.OCSPCertStatus.GOOD


def test_unspecified_reason_is_left_out(ca, registry) -> None:
    response = ask(ca, registry, 5)
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is None


def test_serial_never_issued_is_unknown(ca, registry) -> None:
    assert ask(ca, registry, 999).certificate_status is x509_ocsp.OCSPCertStatus.UNKNOWN


def test_request_without_nonce_gets_none(ca, registry) -> None:
    assert nonce_of(ask(ca, registry, 1, nonce=None)) is None


def test_sha256_cert_id_is_answered_in_kind(ca, registry) -> None:
    request = ocsp.make_ocsp_request(1, ca.certificate, hash_algorithm=hashes.SHA256())
    response = parse(ocsp.respond(ca, registry, request))
    assert response.certificate_status is x509_ocsp.OCSPCertStatus.GOOD
    assert isinstance(response.hash_algorithm, hashes.SHA256)


def test_cert_id_of_another_issuer_is_unauthorized(ca, registry, state) -> None:
    other = state.ca(CertKind.SIGN)
    request = ocsp.make_ocsp_request(1, other.certificate, nonce=NONCE)
    response = parse(ocsp.respond(ca, registry, request))
    assert response.response_status is x509_ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("garbage", [b"", b"\x30\x00", b"not an ocsp request", b"\x30" * 300])
def test_malformed_request_gets_malformed_request(ca, registry, garbage: bytes) -> None:
    response = parse(ocsp.respond(ca, registry, garbage))
    assert response.response_status is x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_responder_knobs_for_misbehaviour(ca, registry) -> None:
    impostor = pki.make_ca(CertKind.AUTH, now=NOW)
    forged = ask(ca, registry, 1, signer=impostor.responder)
    assert not ocsp_signed_by(forged, ca.responder.certificate)
    assert nonce_of(ask(ca, registry, 1, nonce=None)) is None
    assert nonce_of(ask(ca, registry, 1, nonce=b"other nonce")) == b"other nonce"
    assert ask(ca, registry, 1, serial_offset=1).serial_number == 2
    stale = ask(ca, registry, 1, this_update=NOW - dt.timedelta(days=2), next_update=NOW)
    assert stale.next_update_utc == NOW


def test_cert_id_matches_what_cryptography_computes(ca, certificate) -> None:
    request = x509_ocsp.load_der_ocsp_request(ocsp.make_ocsp_request(certificate, ca.certificate))
    cert_id = ocsp.CertId.of(certificate.serial_number, ca.certificate)
    parsed = ocsp.CertId.from_request(request)
    assert (cert_id.issuer_name_hash, cert_id.issuer_key_hash, cert_id.serial_number) == (
        parsed.issuer_name_hash,
        parsed.issuer_key_hash,
        parsed.serial_number,
    )
    assert parsed.names_issuer(ca.certificate)


@given(garbage=st.binary(max_size=300))
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_responder_answers_any_bytes_with_a_response(ca, registry, garbage: bytes) -> None:
    assert parse(ocsp.respond(ca, registry, garbage)).response_status in (
        x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
        x509_ocsp.OCSPResponseStatus.UNAUTHORIZED,
        x509_ocsp.OCSPResponseStatus.SUCCESSFUL,
    )
