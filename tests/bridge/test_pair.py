"""The two-key operation (bridge-protocol.md §9): in one card session the card signs the
challenge (or a document's digest) with the authentication key and the signing key; both PINs
are asked for together, the signing password is never sent after a wrong 4-digit PIN, and a
wrong PIN says which one it was."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from client_bridge import errors, protocol
from client_bridge.operation import Document, Prompt, Request, perform
from client_bridge.pin import KeyKind, Pin, Pins
from client_bridge.pin_stdin import describe, stdin_pin_reader
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN
from tests.bridge.test_api import BASE, BODY, IDP, call, pin_page

ORIGIN = "https://idp.example.jp"
CHALLENGE = bytes(range(32))
DIGEST = hashlib.sha256(b"the signed attributes").digest()
VERIFY_SIGN_PIN = b"\x00\xa4\x02\x0c\x02\x00\x1b"
"""SELECT EF 001B: the signing password's EF, selected only to VERIFY it."""


def pair(document: bool = False) -> Request:
    if document:
        return Request(KeyKind.SIGN, ORIGIN, None, "Sample Bank",
                       Document(DIGEST, "契約書", "要約"), pair=True)  # fmt: skip
    return Request(KeyKind.SIGN, ORIGIN, CHALLENGE, "Sample Bank", pair=True)


class Typist:
    """Types both PINs and keeps the prompts it was shown."""

    def __init__(self, auth: str = AUTH_PIN, sign: str = SIGN_PIN) -> None:
        self.auth, self.sign = auth, sign
        self.prompts: list[Prompt] = []

    def __call__(self, prompt: Prompt) -> Pins:
        self.prompts.append(prompt)
        return Pins(Pin(KeyKind.AUTH, self.auth), Pin(KeyKind.SIGN, self.sign))


def _verifies(certificate: bytes, signature: bytes, digest: bytes) -> x509.Certificate:
    loaded = x509.load_der_x509_certificate(certificate)
    loaded.public_key().verify(  # type: ignore[union-attr]
        signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256())
    )
    return loaded


def test_both_keys_of_the_card_sign_the_same_challenge(connector) -> None:
    typist = Typist()
    result = perform(pair(), connector, typist)
    assert isinstance(result, protocol.PairResult)
    digest = hashlib.sha256(protocol.signed_value(ORIGIN, CHALLENGE)).digest()
    auth = _verifies(result.authentication_certificate, result.authentication_signature, digest)
    sign = _verifies(result.certificate, result.signature, digest)
    assert "user authentication" in auth.issuer.rfc4514_string()
    assert "digital signature" in sign.issuer.rfc4514_string()
    assert len(typist.prompts) == 1
    assert dict(typist.prompts[0].tries) == {KeyKind.AUTH: 3, KeyKind.SIGN: 5}
    body = result.to_json()
    assert body["version"] == 2
    assert body["format"] == "jpki-origin-challenge-pair-v2"
    assert set(body) == {"version", "purpose", "origin", "challenge", "certificate", "signature",
                         "authentication_certificate", "authentication_signature", "algorithm",
                         "format"}  # fmt: skip


def test_a_document_pair_signs_the_digest_and_its_origin_bound_value(connector) -> None:
    result = perform(pair(document=True), connector, Typist())
    _verifies(result.certificate, result.signature, DIGEST)  # the CMS signature, as in §8
    bound = hashlib.sha256(protocol.signed_value(ORIGIN, DIGEST)).digest()
    _verifies(result.authentication_certificate, result.authentication_signature, bound)
    body = result.to_json()
    assert (body["purpose"], body["format"]) == ("document", "jpki-sha256-digest-pair-v2")
    assert body["digest"] == protocol.b64url(DIGEST)
    assert "challenge" not in body


def test_both_signatures_come_from_one_card_session(connector, connection) -> None:
    perform(pair(), connector, Typist())
    verifies = [apdu for apdu in connection.sent if apdu[:2] == b"\x00\x20" and len(apdu) > 5]
    signs = [apdu for apdu in connection.sent if apdu[:2] == b"\x80\x2a"]
    assert len(verifies) == 2
    assert len(signs) == 2
    # no reset or reselection of the card between the two VERIFYs and the two signatures
    first = connection.sent.index(verifies[0])
    assert all(apdu[:4] != b"\x00\xa4\x04\x0c" for apdu in connection.sent[first:])


def test_a_wrong_pin_is_named_and_the_signing_password_is_not_sent(connector, connection):
    with pytest.raises(errors.WrongPin) as failure:
        perform(pair(), connector, Typist(auth="9999"))
    assert (failure.value.pin, failure.value.tries_left) == ("auth", 2)
    assert failure.value.to_json()["pin"] == "auth"
    assert "signing password was not sent" in failure.value.message("en")
    assert VERIFY_SIGN_PIN not in connection.sent[-3:]
    assert not any(apdu[:2] == b"\x80\x2a" for apdu in connection.sent)
    typist = Typist()
    perform(pair(), connector, typist)
    assert dict(typist.prompts[0].tries) == {KeyKind.AUTH: 2, KeyKind.SIGN: 5}


def test_a_wrong_signing_password_is_named(connector) -> None:
    with pytest.raises(errors.WrongPin) as failure:
        perform(pair(), connector, Typist(sign="WRONG99"))
    assert (failure.value.pin, failure.value.tries_left) == ("sign", 4)
    assert "Wrong signing password" in failure.value.message("en")


def test_one_pin_for_a_two_key_operation_is_refused(connector) -> None:
    with pytest.raises(errors.PinFormat):
        perform(pair(), connector, lambda _prompt: Pin(KeyKind.SIGN, SIGN_PIN))


def test_a_one_key_request_is_unchanged(connector) -> None:
    """Version 1 stays as it was: one PIN, one key, no ``pin`` member in its errors."""
    request = Request(KeyKind.SIGN, ORIGIN, CHALLENGE, "Sample Bank")
    result = perform(request, connector, lambda _prompt: Pin(KeyKind.SIGN, SIGN_PIN))
    assert result.to_json()["version"] == 1
    with pytest.raises(errors.WrongPin) as failure:
        perform(request, connector, lambda _prompt: Pin(KeyKind.SIGN, "WRONG99"))
    assert "pin" not in failure.value.to_json()


def test_version_2_over_http_asks_both_pins_on_one_page(client) -> None:
    started = call(client, "POST", "/v1/sign", json={**BODY, "version": 2})
    assert started.status_code == 202
    assert started.json["keys"] == ["auth", "sign"]
    op = call(client, "GET", f"/v1/operations/{started.json['id']}?wait=5&state=starting").json
    assert op["status"] == "pin_required"
    assert op["tries_left"] == 3  # the smaller of the two counts
    path, page, token = pin_page(client, op)
    assert 'name="pin"' in page.text
    assert 'name="signing_password"' in page.text
    assert "PIN tries left: 3" in page.text
    assert "Signing password tries left: 5" in page.text
    bad = client.post(path, base_url=BASE, headers={"Origin": BASE},
                      data={"token": token, "pin": AUTH_PIN, "signing_password": "ab",
                            "action": "sign"})  # fmt: skip
    assert bad.status_code == 400
    assert "英数字6〜16文字で入力してください" in bad.text
    good = client.post(path, base_url=BASE, headers={"Origin": BASE},
                       data={"token": token, "pin": AUTH_PIN, "signing_password": SIGN_PIN,
                             "action": "sign"})  # fmt: skip
    assert good.status_code == 303
    done = call(client, "GET", f"/v1/operations/{op['id']}?wait=10&state=pin_required").json
    assert done["status"] == "done", done
    assert done["result"]["version"] == 2
    assert done["result"]["purpose"] == "identity"
    assert done["result"]["challenge"] == BODY["challenge"]
    assert AUTH_PIN not in str(done)
    assert SIGN_PIN not in str(done)


def test_version_2_is_refused_at_authenticate_and_unknown_versions_everywhere(client) -> None:
    refused = call(client, "POST", "/v1/authenticate", json={**BODY, "version": 2})
    assert (refused.status_code, refused.json["field"]) == (400, "version")
    for version in (3, 0, True, "2"):
        refused = call(client, "POST", "/v1/sign", json={**BODY, "version": version})
        assert (refused.status_code, refused.json["field"]) == (400, "version")


def test_stdin_reads_the_pin_then_the_signing_password() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, f"{AUTH_PIN}\n{SIGN_PIN.lower()}\nnext\n".encode())
        prompt = Prompt.for_keys(pair(), {KeyKind.AUTH: 3, KeyKind.SIGN: 1})
        pins = stdin_pin_reader(read_end)(prompt, lambda: False)
        assert isinstance(pins, Pins)
        assert pins[KeyKind.AUTH].value == bytearray(AUTH_PIN.encode())
        assert pins[KeyKind.SIGN].value == bytearray(SIGN_PIN.encode())
        assert os.read(read_end, 5) == b"next\n"  # only this operation's two lines were read
    finally:
        os.close(read_end)
        os.close(write_end)
    text = describe(prompt)
    assert "auth and sign key" in text
    assert "Signing password tries left: 1" in text
    assert prompt.last_try


def test_the_result_verifies_at_the_idp_byte_for_byte(connector) -> None:
    """Interoperability with the IdP's parser: the same members, the same encodings."""
    from idp.jpki.bridge import PairResult

    result = perform(pair(), connector, Typist()).to_json()
    parsed = PairResult.parse(result)
    assert parsed.challenge == base64.urlsafe_b64encode(CHALLENGE).rstrip(b"=").decode()
    assert parsed.origin == IDP
