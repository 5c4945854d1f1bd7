"""Document signing in process (bridge-protocol.md §8): the request's rules, the one code path,
and what the PIN screens say. The same through pcscd and vpcd is in test_document_pcsc.py."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from flask.testing import FlaskClient

from client_bridge import errors, protocol
from client_bridge.body import parse
from client_bridge.operation import Document, Prompt, Request, perform
from client_bridge.pin import KeyKind
from client_bridge.pin_stdin import describe
from tests.bridge.conftest import SIGN_PIN
from tests.bridge.test_api import BASE, IDP, call, pin_page, start, submit_pin, wait_done
from tests.bridge.test_operation import Typist

DIGEST = hashlib.sha256(b"signedAttrs of a mortgage contract").digest()
TITLE = "住宅ローン契約書 (Mortgage contract)"
SUMMARY = "借入額 3,000万円、期間 35年。Loan of 30 million yen over 35 years."
BODY = {"purpose": "document", "digest": protocol.b64url(DIGEST), "title": TITLE,
        "summary": SUMMARY, "service": "Sample Bank"}  # fmt: skip
FINGERPRINT = protocol.fingerprint(DIGEST)


def sign(client: FlaskClient, body: dict):
    return call(client, "POST", "/v1/sign", json=body)


def verifies_over_digest(certificate_der: bytes, signature: bytes, digest: bytes) -> None:
    """PKCS#1 v1.5 over DigestInfo(SHA-256, digest) with the certificate's key, or raise."""
    key = x509.load_der_x509_certificate(certificate_der).public_key()
    key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))  # type: ignore[union-attr]


def test_the_fingerprint_is_the_documented_vector() -> None:
    assert protocol.fingerprint(hashlib.sha256(b"abc").digest()) == "BA78-16BF-8F01-CFEA"


def test_a_document_is_signed_on_the_one_code_path(connector, connection) -> None:
    request = Request(KeyKind.SIGN, IDP, None, "Sample Bank", Document(DIGEST, TITLE, SUMMARY))
    result = perform(request, connector, Typist(KeyKind.SIGN, SIGN_PIN))
    sent = [apdu for apdu in connection.sent if apdu[:2] == b"\x80\x2a"]
    assert sent == [b"\x80\x2a\x00\x80\x33" + protocol.sha256_digest_info(DIGEST) + b"\x00"]
    assert isinstance(result, protocol.DocumentSignatureResult)
    verifies_over_digest(result.certificate, result.signature, DIGEST)
    body = result.to_json()
    assert (body["purpose"], body["origin"]) == ("document", IDP)
    assert body["format"] == "jpki-sha256-digest-v1"
    assert body["digest"] == BODY["digest"]


@pytest.mark.parametrize("kind", [KeyKind.AUTH])
def test_a_request_cannot_be_half_defined(kind: KeyKind) -> None:
    document = Document(DIGEST, TITLE, SUMMARY)
    with pytest.raises(ValueError, match="signing key"):
        Request(kind, IDP, None, "Sample Bank", document)
    with pytest.raises(ValueError, match="either"):
        Request(KeyKind.SIGN, IDP, bytes(32), "Sample Bank", document)
    with pytest.raises(ValueError, match="either"):
        Request(KeyKind.SIGN, IDP, None, "Sample Bank")


def test_signing_a_document_through_the_pin_page(client: FlaskClient) -> None:
    started = sign(client, BODY)
    assert started.status_code == 202
    assert started.json["key"] == "sign"
    op = call(client, "GET", f"/v1/operations/{started.json['id']}?wait=5&state=starting").json
    path, page, token = pin_page(client, op)
    assert TITLE in page.text
    assert FINGERPRINT in page.text
    assert submit_pin(client, path, token, SIGN_PIN).status_code == 303
    done = wait_done(client, op)
    assert done["status"] == "done", done
    result = done["result"]
    assert set(result) == {"version", "purpose", "origin", "digest", "certificate", "signature",
                           "algorithm", "format"}  # fmt: skip
    assert (result["purpose"], result["origin"]) == ("document", IDP)
    assert result["digest"] == BODY["digest"]
    assert SIGN_PIN not in str(done)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_pin_page_shows_title_summary_and_fingerprint(client: FlaskClient, lang) -> None:
    op_id = sign(client, BODY).json["id"]
    op = call(client, "GET", f"/v1/operations/{op_id}?wait=5&state=starting").json
    assert op["status"] == "pin_required", op
    page = client.get(op["pin_url"].removeprefix(BASE) + f"?lang={lang}", base_url=BASE)
    expected = {"ja": ["文書", "照合コード"], "en": ["Sign a document", "Check code"]}[lang]
    for text in [TITLE, SUMMARY, FINGERPRINT, IDP, *expected]:
        assert text in page.text, text
    call(client, "DELETE", f"/v1/operations/{op['id']}")


def test_the_stdin_prompt_shows_title_summary_and_fingerprint_in_both_languages() -> None:
    request = Request(KeyKind.SIGN, IDP, None, "Sample Bank", Document(DIGEST, TITLE, SUMMARY))
    text = describe(Prompt(request, 5))
    for part in [TITLE, SUMMARY, FINGERPRINT, "文書名", "Document title", "照合コード",
                 "Check code"]:  # fmt: skip
        assert part in text, part
    assert text.count(FINGERPRINT) == 2


def _bent(**changes: object) -> dict:
    body = {**BODY, **changes}
    return {key: value for key, value in body.items() if value is not ...}


@pytest.mark.parametrize(
    ("body", "field"),
    [(_bent(digest=protocol.b64url(DIGEST[:31])), "digest"),
     (_bent(digest=protocol.b64url(DIGEST) + "="), "digest"),
     (_bent(digest=DIGEST.hex()), "digest"), (_bent(digest=None), "digest"),
     (_bent(digest=...), "digest"), (_bent(title=""), "title"), (_bent(title="   "), "title"),
     (_bent(title="x" * 101), "title"), (_bent(title="契約\n書"), "title"),
     (_bent(title="契約\u202e書"), "title"), (_bent(title="a\u200bb"), "title"),
     (_bent(title=5), "title"), (_bent(title=...), "title"), (_bent(summary="y" * 501), "summary"),
     (_bent(summary="line\tbreak"), "summary"), (_bent(summary=...), "summary"),
     (_bent(service=...), "service"), (_bent(purpose="contract"), "purpose"),
     (_bent(purpose="identity"), "purpose"), (_bent(challenge=BODY["digest"]), "challenge"),
     (_bent(origin="https://idp.example.jp"), "origin"), (_bent(version=3), "version")],
)  # fmt: skip
def test_a_bad_document_body_is_400_naming_the_member(client, body: dict, field: str) -> None:
    refused = sign(client, body)
    assert refused.status_code == 400
    assert (refused.json["error"], refused.json["field"]) == ("bad_request", field)
    assert refused.json["detail"]
    assert set(refused.json["message"]) == {"ja", "en"}
    assert start(client, "/v1/sign").status_code == 202  # nothing started, no lock taken


def test_documents_are_not_signed_with_the_authentication_key(client: FlaskClient) -> None:
    refused = call(client, "POST", "/v1/authenticate", json=BODY)
    assert (refused.status_code, refused.json["field"]) == (400, "purpose")


def test_limits_are_inclusive() -> None:
    request = parse(KeyKind.SIGN, _bent(title="t" * 100, summary="s" * 500), IDP)
    assert request.document is not None
    assert (len(request.document.title), len(request.document.summary)) == (100, 500)
    assert parse(KeyKind.SIGN, _bent(title="  契約書  "), IDP).document.title == "契約書"


def test_the_identity_body_is_unchanged() -> None:
    request = parse(KeyKind.SIGN, {"challenge": BODY["digest"], "service": "Sample Bank"}, IDP)
    assert (request.purpose, request.document) == ("identity", None)
    with pytest.raises(errors.BadRequest):
        parse(KeyKind.SIGN, {"challenge": BODY["digest"]}, IDP)
