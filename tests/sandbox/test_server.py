"""The HTTP service: OCSP over GET and POST, CRLs, and every misbehaviour seen from a client."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp as x509_ocsp

from sandbox import ocsp, pki, server
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.revocation_app import OCSP_REQUEST
from sandbox.state import SandboxError, SandboxState
from tests.sandbox.revocation_helpers import (
    crl_verifies,
    nonce_of,
    ocsp_signed_by,
    openssl,
    write_pem,
)

AUTH, SIGN = CertKind.AUTH, CertKind.SIGN
NONCE = b"sixteen-byte-nce"
GOOD = x509_ocsp.OCSPCertStatus.GOOD
REVOKED = x509_ocsp.OCSPCertStatus.REVOKED
UNKNOWN = x509_ocsp.OCSPCertStatus.UNKNOWN


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    """Certificates name the port the module's server listens on."""
    port = server.free_port()
    return SandboxState.init(tmp_path_factory.mktemp("server"), f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def cards(state: SandboxState) -> list[str]:
    return [state.issue_card(citizen, "1234", "ABC123").id for citizen in SAMPLE_CITIZENS[:3]]


@pytest.fixture(scope="module")
def service(state: SandboxState) -> Iterator[server.RunningServer]:
    with server.running_server(state, port=None) as running:
        yield running


@pytest.fixture(autouse=True)
def _normal(service: server.RunningServer) -> Iterator[None]:
    service.reset()
    yield
    service.reset()


def post(url: str, body: bytes, content_type: str, timeout: float = 10) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})  # noqa: S310 - loopback http URLs only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def get(url: str, timeout: float = 10) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def ask(
    service, state, card: str, kind: CertKind = AUTH, *, nonce: bytes | None = NONCE, **kw
) -> x509_ocsp.OCSPResponse:
    request = ocsp.make_ocsp_request(
        state.certificate(card, kind), state.ca(kind).certificate, nonce=nonce
    )
    status, content_type, body = post(service.ocsp_url(kind), request, OCSP_REQUEST, **kw)
    assert (status, content_type) == (200, "application/ocsp-response")
    return x509_ocsp.load_der_ocsp_response(body)


# --- OCSP --------------------------------------------------------------------------------------


def test_aia_of_issued_certificates_points_at_the_running_service(state, cards, service) -> None:
    aia = state.certificate(cards[0], AUTH).extensions.get_extension_for_class(
        x509.AuthorityInformationAccess
    )
    assert aia.value[0].access_location.value == service.ocsp_url(AUTH)


def test_post_answers_good_with_the_nonce_echoed(state, cards, service) -> None:
    response = ask(service, state, cards[0])
    assert response.certificate_status is GOOD
    assert nonce_of(response) == NONCE
    assert ocsp_signed_by(response, state.ca(AUTH).responder.certificate)
    assert response.next_update_utc - response.this_update_utc == ocsp.DEFAULT_VALIDITY


@pytest.mark.parametrize("quote", [True, False])
def test_get_answers_the_base64_request_in_the_path(state, cards, service, quote: bool) -> None:
    # A nonce chosen so that the base64 has "/" and "+" in it.
    request = ocsp.make_ocsp_request(
        state.certificate(cards[0], SIGN), state.ca(SIGN).certificate, nonce=b"\xfb\xff\xbf" * 5
    )
    encoded = base64.b64encode(request).decode()
    assert "/" in encoded
    path = urllib.parse.quote(encoded, safe="") if quote else encoded
    status, content_type, body = get(f"{service.ocsp_url(SIGN)}/{path}")
    assert (status, content_type) == (200, "application/ocsp-response")
    response = x509_ocsp.load_der_ocsp_response(body)
    assert response.certificate_status is GOOD
    assert nonce_of(response) == b"\xfb\xff\xbf" * 5


def test_revoke_hold_and_release_are_seen_at_once(state, cards, service) -> None:
    state.revoke(cards[1], AUTH, "affiliationChanged")
    revoked = ask(service, state, cards[1])
    assert revoked.certificate_status is REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.affiliation_changed
    assert abs(revoked.revocation_time_utc - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    state.hold(cards[2], AUTH)
    held = ask(service, state, cards[2])
    assert held.certificate_status is REVOKED
    assert held.revocation_reason is x509.ReasonFlags.certificate_hold
    state.release(cards[2], AUTH)
    assert ask(service, state, cards[2]).certificate_status is GOOD


def test_certificate_the_ca_never_issued_is_unknown(state, service) -> None:
    stranger = pki.make_auth_certificate(state.ca(AUTH))
    request = ocsp.make_ocsp_request(stranger, state.ca(AUTH).certificate)
    _, _, body = post(service.ocsp_url(AUTH), request, OCSP_REQUEST)
    assert x509_ocsp.load_der_ocsp_response(body).certificate_status is UNKNOWN


def test_request_for_the_other_ca_is_unauthorized(state, cards, service) -> None:
    request = ocsp.make_ocsp_request(state.certificate(cards[0], SIGN), state.ca(SIGN).certificate)
    _, _, body = post(service.ocsp_url(AUTH), request, OCSP_REQUEST)
    response = x509_ocsp.load_der_ocsp_response(body)
    assert response.response_status is x509_ocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("body", [b"", b"garbage", b"\x30\x03\x02\x01\x01"])
def test_malformed_post_gets_malformed_request(service, body: bytes) -> None:
    status, _, answer = post(service.ocsp_url(AUTH), body, OCSP_REQUEST)
    assert status == 200
    response = x509_ocsp.load_der_ocsp_response(answer)
    assert response.response_status is x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_malformed_get_gets_malformed_request(service) -> None:
    _, _, answer = get(f"{service.ocsp_url(AUTH)}/not-base64!!")
    response = x509_ocsp.load_der_ocsp_response(answer)
    assert response.response_status is x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _openssl_ocsp(state, card: str, kind: CertKind, url: str, tmp: Path) -> str:
    ca_pem = state.root / "ca" / kind / "ca.pem"
    cert_pem = write_pem(tmp / f"{card}-{kind}.pem", state.certificate(card, kind))
    args = ["ocsp", "-issuer", ca_pem, "-cert", cert_pem, "-url", url, "-CAfile", ca_pem]
    return openssl(*args, "-resp_text", "-timeout", "10").stdout


def test_openssl_verifies_good_and_revoked_answers(state, service, tmp_path) -> None:
    good, revoked = (state.issue_card(c, "1234", "ABC123").id for c in SAMPLE_CITIZENS[:2])
    state.revoke(revoked, SIGN, "keyCompromise")
    out = _openssl_ocsp(state, good, SIGN, service.ocsp_url(SIGN), tmp_path)
    assert "Response verify OK" in out, out
    assert f"{good}-sign.pem: good" in out
    out = _openssl_ocsp(state, revoked, SIGN, service.ocsp_url(SIGN), tmp_path)
    assert "Response verify OK" in out, out
    assert f"{revoked}-sign.pem: revoked" in out
    assert "Reason: keyCompromise" in out


# --- OCSP misbehaviour -------------------------------------------------------------------------


def test_slow_responder_times_a_client_out(state, cards, service) -> None:
    service.behave(ocsp="slow", delay=1.5)
    started = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        ask(service, state, cards[0], timeout=0.3)
    assert time.monotonic() - started < 1.4
    assert ask(service, state, cards[0], timeout=5).certificate_status is GOOD


def test_down_responder_closes_the_connection(state, cards, service) -> None:
    service.behave(ocsp="down")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        ask(service, state, cards[0])


def test_refusing_server_refuses_connections_then_comes_back(state, cards, service) -> None:
    with service.refusing(), pytest.raises(urllib.error.URLError) as raised:
        ask(service, state, cards[0])
    assert isinstance(raised.value.reason, ConnectionRefusedError)
    assert ask(service, state, cards[0]).certificate_status is GOOD


def test_http_500(state, cards, service) -> None:
    service.behave(ocsp="http_500")
    request = ocsp.make_ocsp_request(state.certificate(cards[0], AUTH), state.ca(AUTH).certificate)
    status, _, _ = post(service.ocsp_url(AUTH), request, OCSP_REQUEST)
    assert status == 500


def test_garbage_body_does_not_parse(state, cards, service) -> None:
    service.behave(ocsp="garbage")
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography says only ValueError
        ask(service, state, cards[0])


def test_wrong_key_signature_does_not_verify(state, cards, service, tmp_path) -> None:
    service.behave(ocsp="wrong_key")
    response = ask(service, state, cards[0])
    assert response.certificate_status is GOOD
    assert not ocsp_signed_by(response, state.ca(AUTH).responder.certificate)
    assert response.certificates[0].issuer == state.ca(AUTH).certificate.subject
    out = _openssl_ocsp(state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path)
    assert "Response Verify Failure" in out, out


def test_ca_signed_answer_is_valid(state, cards, service, tmp_path) -> None:
    service.behave(ocsp="ca_signed")
    assert ocsp_signed_by(ask(service, state, cards[0]), state.ca(AUTH).certificate)
    out = _openssl_ocsp(state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path)
    assert "Response verify OK" in out, out


def test_stale_answer_has_next_update_in_the_past(state, cards, service, tmp_path) -> None:
    service.behave(ocsp="stale")
    response = ask(service, state, cards[0])
    assert response.next_update_utc < dt.datetime.now(dt.UTC)
    out = _openssl_ocsp(state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path)
    assert "Status times invalid" in out, out


def test_answer_without_next_update(state, cards, service, tmp_path) -> None:
    service.behave(ocsp="no_next_update")
    response = ask(service, state, cards[0])
    assert response.next_update_utc is None
    assert response.certificate_status is GOOD
    assert nonce_of(response) == NONCE
    assert ocsp_signed_by(response, state.ca(AUTH).responder.certificate)
    out = _openssl_ocsp(state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path)
    assert "Response verify OK" in out, out
    assert "Next Update" not in out, out


def test_nonce_dropped_or_replaced(state, cards, service, tmp_path) -> None:
    service.behave(ocsp="no_nonce")
    assert nonce_of(ask(service, state, cards[0])) is None
    assert "WARNING: no nonce in response" in _openssl_ocsp(
        state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path
    )
    service.behave(ocsp="wrong_nonce")
    assert nonce_of(ask(service, state, cards[0])) not in (None, NONCE)
    assert "Nonce Verify error" in _openssl_ocsp(
        state, cards[0], AUTH, service.ocsp_url(AUTH), tmp_path
    )


def test_wrong_serial_answers_about_another_certificate(state, cards, service) -> None:
    service.behave(ocsp="wrong_serial")
    response = ask(service, state, cards[0])
    assert response.serial_number != state.certificate(cards[0], AUTH).serial_number


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("try_later", x509_ocsp.OCSPResponseStatus.TRY_LATER),
        ("internal_error", x509_ocsp.OCSPResponseStatus.INTERNAL_ERROR),
        ("unauthorized", x509_ocsp.OCSPResponseStatus.UNAUTHORIZED),
        ("malformed_request", x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
    ],
)
def test_error_statuses(state, cards, service, mode: str, status) -> None:
    service.behave(ocsp=mode)
    assert ask(service, state, cards[0]).response_status is status


def test_misbehaviour_is_per_kind(state, cards, service) -> None:
    with service.misbehaving(ocsp="try_later", kind="sign"):
        assert ask(service, state, cards[0], AUTH).certificate_status is GOOD
        assert (
            ask(service, state, cards[0], SIGN).response_status
            is x509_ocsp.OCSPResponseStatus.TRY_LATER
        )
    assert ask(service, state, cards[0], SIGN).certificate_status is GOOD


def test_requests_are_counted_per_service_and_kind(state, cards, service) -> None:
    service.requests.clear()
    ask(service, state, cards[0])
    ask(service, state, cards[0], SIGN)
    ask(service, state, cards[0])
    get(service.crl_url(AUTH))
    assert service.requests.get("ocsp", "auth") == 2
    assert service.requests.get("ocsp") == 3
    assert service.requests.get("crl", AUTH) == 1
    _, _, body = get(f"{service.base_url}/_sandbox/requests")
    assert json.loads(body) == {"ocsp": {"auth": 2, "sign": 1}, "crl": {"auth": 1, "sign": 0}}
    url = f"{service.base_url}/_sandbox/requests"
    request = urllib.request.Request(url, method="DELETE")  # noqa: S310 - loopback
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
        assert json.loads(response.read())["ocsp"]["auth"] == 0


# --- control over HTTP -------------------------------------------------------------------------


def control(service, payload: object) -> tuple[int, dict]:
    status, _, body = post(
        f"{service.base_url}/_sandbox/behaviour", json.dumps(payload).encode(), "application/json"
    )
    return status, json.loads(body)


def test_behaviour_is_set_and_read_over_http(state, cards, service) -> None:
    status, snapshot = control(service, {"ocsp": "stale", "kind": "auth", "delay": 0.1})
    assert status == 200
    assert snapshot["ocsp"]["auth"] == {"mode": "stale", "delay": 0.1}
    assert snapshot["ocsp"]["sign"]["mode"] == "normal"
    assert ask(service, state, cards[0]).next_update_utc < dt.datetime.now(dt.UTC)
    _, _, body = get(f"{service.base_url}/_sandbox/behaviour")
    assert json.loads(body) == snapshot
    _, snapshot = control(service, {"ocsp": "normal"})
    assert snapshot["ocsp"]["auth"] == {"mode": "normal", "delay": 0.0}
    control(service, {"ocsp": "slow", "crl": "garbage"})
    _, snapshot = control(service, {"reset": True})
    assert {b["mode"] for s in snapshot.values() for b in s.values()} == {"normal"}


@pytest.mark.parametrize(
    "payload",
    [{"ocsp": "sideways"}, {"crl": "no_nonce"}, {"kind": "bank", "ocsp": "down"}, {"oscp": "down"},
     {"ocsp": "slow", "delay": "long"}, [1, 2]],
)  # fmt: skip
def test_bad_behaviour_requests_are_400(service, payload) -> None:
    status, body = control(service, payload)
    assert status == 400
    assert body["error"]


# --- CRLs --------------------------------------------------------------------------------------


def crl_of(service, kind: CertKind = AUTH, *, delta: bool = False) -> bytes:
    status, content_type, body = get(service.crl_url(kind, delta=delta))
    assert (status, content_type) == (200, "application/pkix-crl")
    return body


def test_crls_are_served_signed_and_fresh(state, service, tmp_path) -> None:
    card = state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123").id
    ca_pem = state.root / "ca" / "sign" / "ca.pem"
    full = crl_of(service, SIGN)
    assert crl_verifies(full, ca_pem, tmp_path)
    assert crl_verifies(crl_of(service, SIGN, delta=True), ca_pem, tmp_path)
    serial = state.certificate(card, SIGN).serial_number
    assert x509.load_der_x509_crl(full).get_revoked_certificate_by_serial_number(serial) is None
    state.revoke(card, SIGN, "affiliationChanged")
    full = x509.load_der_x509_crl(crl_of(service, SIGN))
    delta = x509.load_der_x509_crl(crl_of(service, SIGN, delta=True))
    assert full.get_revoked_certificate_by_serial_number(serial) is not None
    assert delta.get_revoked_certificate_by_serial_number(serial) is not None
    assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert (state.root / "crl" / "sign.crl").read_bytes() == full.public_bytes(Encoding.DER)


def test_crl_distribution_point_of_certificates_is_served(state, cards, service) -> None:
    points = state.certificate(cards[0], AUTH).extensions.get_extension_for_class(
        x509.CRLDistributionPoints
    )
    url = points.value[0].full_name[0].value
    assert url == service.crl_url(AUTH)
    assert get(url)[0] == 200


def test_crl_misbehaviour(state, service, tmp_path) -> None:
    ca = state.ca(AUTH)
    ca_pem = state.root / "ca" / "auth" / "ca.pem"
    honest = x509.load_der_x509_crl(crl_of(service))
    number = honest.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    service.behave(crl="wrong_key")
    assert not crl_verifies(crl_of(service), ca_pem, tmp_path)
    service.behave(crl="stale")
    stale = x509.load_der_x509_crl(crl_of(service))
    assert stale.next_update_utc < dt.datetime.now(dt.UTC)
    assert stale.is_signature_valid(ca.certificate.public_key())
    service.behave(crl="older")
    older = x509.load_der_x509_crl(crl_of(service, delta=True))
    assert older.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number < number
    assert older.is_signature_valid(ca.certificate.public_key())
    service.behave(crl="garbage")
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography says only ValueError
        x509.load_der_x509_crl(crl_of(service))
    service.behave(crl="http_500")
    assert get(service.crl_url(AUTH))[0] == 500
    service.behave(crl="down")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        get(service.crl_url(AUTH))
    service.behave(crl="slow", delay=1)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        get(service.crl_url(AUTH), timeout=0.3)


@pytest.mark.parametrize(
    "path", ["/crl/bank.crl", "/crl/auth.pem", "/crl/auth-full.crl", "/ocsp/bank", "/nothing"]
)
def test_unknown_paths_are_404(service, path: str) -> None:
    assert get(service.base_url + path)[0] in (404, 405)


# --- serve() -----------------------------------------------------------------------------------


def test_serve_on_a_busy_port_says_so(state) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port {port} is busy"):
            server.serve(state, port=port)


SERVE = (
    "import sys; from sandbox import server, state; server.serve(state.SandboxState(sys.argv[1]))"
)


def test_serve_runs_until_sigterm(tmp_path) -> None:
    port = server.free_port()
    state = SandboxState.init(tmp_path / "s", f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(state.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError):
                if get(f"http://127.0.0.1:{port}/crl/auth.crl", timeout=2)[0] == 200:
                    break
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
