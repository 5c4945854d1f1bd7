"""Document signing end to end (bridge-protocol.md §8): ``jpki-bridge run``, the card through
pcscd and vpcd in "Virtual PCD 00 01", the IdP's verifier, and a detached CMS SignedData built
around the card's signature that ``openssl cms -verify`` accepts against the sandbox signing CA."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509

from client_bridge import protocol
from idp.jpki.document import fingerprint, verify_document_result
from idp.jpki.errors import DigestMismatch
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.bridge.bridge_process import IDP, BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER, SIGN_PIN, InsertedCard, insert_card
from tests.bridge.test_document import BODY, SUMMARY, TITLE, verifies_over_digest
from tests.bridge.test_idp_verification import validator

pytestmark = pytest.mark.pcsc
CONTRACT = "住宅ローン金銭消費貸借契約書\nLoan: 30,000,000 JPY, 35 years.\n".encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxState, str]]:
    """A sandbox whose OCSP responder runs at the URL its certificates name."""
    state = SandboxState.init(
        tmp_path_factory.mktemp("doc") / "state", f"http://127.0.0.1:{free_port()}"
    )
    card_id = state.issue_card(SAMPLE_CITIZENS[2], AUTH_PIN, SIGN_PIN).id
    with running_server(state, port=None):
        yield state, card_id


@pytest.fixture
def bridge(reader_lock: None) -> Iterator[BridgeProcess]:
    process = BridgeProcess.start("--reader", READER)
    try:
        yield process
    finally:
        process.stop()


def signed_attributes(document: bytes, signing_time: dt.datetime) -> cms.CMSAttributes:
    """What the IdP puts in the SignerInfo: content type, the document's digest, signing time."""
    time = cms.Time({"utc_time": signing_time})
    message_digest = hashlib.sha256(document).digest()
    return cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [time]}),
        cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
    ])  # fmt: skip


def detached_cms(attributes: cms.CMSAttributes, certificate: bytes, signature: bytes) -> bytes:
    """A detached SignedData (RFC 5652) around a signature made elsewhere (the card)."""
    cert = asn1_x509.Certificate.load(certificate)
    signer = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attributes,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": signature,
    })  # fmt: skip
    signed_data = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": "data"},
        "certificates": [cert],
        "signer_infos": [signer],
    })  # fmt: skip
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def openssl_verify(
    container: bytes, document: bytes, ca: Path, tmp: Path
) -> subprocess.CompletedProcess[str]:
    """``openssl cms -verify`` of the detached signature over ``document``, against ``ca``."""
    (tmp / "sig.der").write_bytes(container)
    (tmp / "doc.bin").write_bytes(document)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
               "-in", str(tmp / "sig.der"), "-content", str(tmp / "doc.bin"),
               "-CAfile", str(ca), "-out", "/dev/null"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_document(bridge: BridgeProcess, body: dict, pin: str) -> dict:
    started = bridge.call("POST", "/v1/sign", body)
    assert started.status == 202, started.body
    op = bridge.wait(started.body["id"], "starting")
    assert op["status"] == "pin_required", op
    bridge.type_pin(pin)
    return bridge.wait(op["id"], "pin_required")


def test_a_document_signed_through_pcsc_verifies_as_detached_cms(
    bridge: BridgeProcess, world, tmp_path: Path
) -> None:
    state, _ = world
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    attributes = signed_attributes(CONTRACT, now)
    digest = hashlib.sha256(attributes.dump()).digest()
    with insert_card(*world):
        done = sign_document(bridge, {**BODY, "digest": protocol.b64url(digest)}, SIGN_PIN)
    assert done["status"] == "done", done
    result = done["result"]
    assert (result["purpose"], result["origin"], b64(result["digest"])) == ("document", IDP, digest)
    certificate, signature = b64(result["certificate"]), b64(result["signature"])
    verifies_over_digest(certificate, signature, digest)
    validated = verify_document_result(validator(state, tmp_path), result, origin=IDP,
                                       digest=digest, now=now)  # fmt: skip
    assert validated.revocation.source == "ocsp"
    with pytest.raises(DigestMismatch):  # another request's digest: refused
        verify_document_result(validator(state, tmp_path), result, origin=IDP,
                               digest=hashlib.sha256(b"other").digest(), now=now)  # fmt: skip
    container = detached_cms(attributes, certificate, signature)
    ca = state.root / "ca" / "sign" / "ca.pem"
    verified = openssl_verify(container, CONTRACT, ca, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr
    changed = openssl_verify(container, CONTRACT.replace(b"35", b"45"), ca, tmp_path)
    assert changed.returncode != 0  # a document changed after signing does not verify
    prompt = "".join(bridge.output)
    for text in [TITLE, SUMMARY, fingerprint(digest), "照合コード", "Check code"]:
        assert text in prompt, text
    assert SIGN_PIN not in prompt


def test_a_wrong_signing_pin_fails_with_tries_left(
    bridge: BridgeProcess, inserted: InsertedCard
) -> None:
    done = sign_document(bridge, BODY, "WRONG1")
    assert (done["status"], done["error"], done["tries_left"]) == ("failed", "wrong_pin", 4)
    assert "result" not in done
    assert "WRONG1" not in "".join(bridge.output)


def test_a_foreign_origin_cannot_ask_for_a_document_signature(bridge: BridgeProcess) -> None:
    refused = bridge.call("POST", "/v1/sign", BODY, origin="https://evil.example")
    assert (refused.status, refused.body["error"]) == (403, "forbidden_origin")
    assert not any(h.lower().startswith("access-control-") for h in refused.headers)
    assert bridge.call("GET", "/v1/status").body["card"].get("error") != "busy"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"title": "契約書\u202e"}, "title"), ({"title": "t" * 101}, "title"),
     ({"summary": "a\nb"}, "summary"), ({"digest": "AAAA"}, "digest"),
     ({"digest": protocol.b64url(bytes(33))}, "digest")],
)  # fmt: skip
def test_a_malformed_document_request_is_refused_clearly(
    bridge: BridgeProcess, change: dict, field: str
) -> None:
    refused = bridge.call("POST", "/v1/sign", {**BODY, **change})
    assert refused.status == 400
    assert (refused.body["error"], refused.body["field"]) == ("bad_request", field)
    assert field in refused.body["detail"]
    assert refused.headers["Access-Control-Allow-Origin"] == IDP  # the page can read why
    assert bridge.call("GET", "/v1/status").body["card"].get("error") != "busy"


def test_the_pin_page_names_the_document_in_both_languages(
    reader_lock: None, inserted: InsertedCard
) -> None:
    bridge = BridgeProcess.start("--reader", READER, pin_stdin=False)
    try:
        op = bridge.wait(bridge.call("POST", "/v1/sign", BODY).body["id"], "starting")
        assert op["status"] == "pin_required", op
        path = op["pin_url"].removeprefix(f"http://127.0.0.1:{bridge.port}")
        pages = {lang: bridge.call("GET", f"{path}?lang={lang}", origin=None).body.decode()
                 for lang in ("ja", "en")}  # fmt: skip
        for lang, words in {"ja": ["文書名", "照合コード"], "en": ["Document title", "Check code"]
                            }.items():  # fmt: skip
            for text in [TITLE, SUMMARY, protocol.fingerprint(b64(BODY["digest"])), *words]:
                assert text in pages[lang], (lang, text)
        assert re.search(r'name="token"', pages["ja"])
        cancelled = bridge.call("DELETE", f"/v1/operations/{op['id']}").body
        assert (cancelled["status"], cancelled["error"]) == ("failed", "cancelled")
    finally:
        bridge.stop()
