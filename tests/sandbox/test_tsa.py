"""The sandbox's RFC 3161 time-stamping authority: its own root, a token per query, its CRL, and
the misbehaviours the IdP's tests need."""

from __future__ import annotations

import hashlib
import json

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from sandbox import tsa
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.sandbox.test_server import get, post


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = SandboxState.init(
        tmp_path_factory.mktemp("tsa") / "state", f"http://127.0.0.1:{free_port()}"
    )
    with running_server(state, port=None) as server:
        yield state, server


def _query(digest: bytes, nonce: int = 12345) -> bytes:
    imprint = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest}
    request = {"version": "v1", "message_imprint": imprint, "nonce": nonce, "cert_req": True}
    return tsp.TimeStampReq(request).dump()


def _post(url: str, body: bytes, content_type: str = tsa.TIMESTAMP_QUERY) -> tuple[int, str, bytes]:
    return post(url, body, content_type)


def test_a_state_gains_its_tsa_on_first_use_and_keeps_it(served):
    state, _ = served
    first, second = tsa.authority(state), tsa.authority(state)
    assert first.tsa.certificate == second.tsa.certificate
    root = x509.load_pem_x509_certificate(tsa.trust_file(state).read_bytes())
    assert root == first.root.certificate
    certificate = first.tsa.certificate
    certificate.verify_directly_issued_by(root)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical
    assert list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"{state.endpoints.base_url}/crl/tsa.crl"


def test_a_query_gets_a_token_for_its_digest_signed_by_the_tsa(served):
    state, server = served
    digest = hashlib.sha256(b"contract").digest()
    status, content_type, body = _post(server.tsa_url, _query(digest, nonce=777))
    assert (status, content_type) == (200, tsa.TIMESTAMP_REPLY)
    answer = tsp.TimeStampResp.load(body)
    assert answer["status"]["status"].native == "granted"
    info = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 777
    signer = answer["time_stamp_token"]["content"]["signer_infos"][0]["sid"].chosen
    assert signer["serial_number"].native == tsa.authority(state).tsa.certificate.serial_number


def test_the_tsa_crl_is_signed_by_its_root_and_lists_nobody(served):
    state, server = served
    crl = x509.load_der_x509_crl(get(f"{server.base_url}/crl/tsa.crl")[2])
    root = tsa.authority(state).root.certificate
    assert crl.is_signature_valid(root.public_key())
    assert crl.issuer == root.subject
    assert len(crl) == 0
    assert crl.signature_hash_algorithm.name == hashes.SHA256().name


def test_garbage_is_a_400(served):
    _, server = served
    status, _, _ = _post(server.tsa_url, b"not a query")
    assert status == 400


def test_misbehaviours_change_the_answer_and_end_with_the_block(served):
    _, server = served
    digest = hashlib.sha256(b"x").digest()
    with server.tsa_misbehaving("wrong_digest"):
        _, _, body = _post(server.tsa_url, _query(digest))
        info = tsp.TimeStampResp.load(body)["time_stamp_token"]["content"]
        imprint = info["encap_content_info"]["content"].parsed["message_imprint"]
        assert imprint["hashed_message"].native != digest
    with server.tsa_misbehaving("http_500"):
        assert _post(server.tsa_url, _query(digest))[0] == 500
    with server.tsa_misbehaving("rejection"):
        body = _post(server.tsa_url, _query(digest))[2]
        assert body.startswith(b"\x30")
        assert b"\x02\x01\x02" in body
    assert _post(server.tsa_url, _query(digest))[0] == 200


def test_the_behaviour_can_be_set_over_http_from_loopback(served):
    _, server = served
    url = f"{server.base_url}/_sandbox/tsa"
    status, _, body = _post(url, json.dumps({"mode": "garbage"}).encode(), "application/json")
    assert (status, json.loads(body)) == (200, {"mode": "garbage"})
    try:
        _, _, answer = _post(server.tsa_url, _query(hashlib.sha256(b"y").digest()))
        with pytest.raises((ValueError, TypeError)):  # random bytes fail in many ways
            tsp.TimeStampResp.load(answer).native  # noqa: B018
    finally:
        _post(url, json.dumps({"mode": "normal"}).encode(), "application/json")
    assert _post(url, json.dumps({"mode": "nonsense"}).encode(), "application/json")[0] == 400
