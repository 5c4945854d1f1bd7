"""The whole operation in process: PIN asked once, locked PINs never asked, signature checked."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from client_bridge import errors, protocol
from client_bridge.operation import Prompt, Request, check_signature, perform
from client_bridge.pin import KeyKind, Pin
from tests.bridge.conftest import AUTH_PIN, SIGN_PIN

ORIGIN = "https://idp.example.jp"
CHALLENGE = bytes(range(32))


def request(kind: KeyKind = KeyKind.AUTH) -> Request:
    return Request(kind, ORIGIN, CHALLENGE, "Sample Bank")


class Typist:
    """Types the given PIN and counts how often it was asked."""

    def __init__(self, kind: KeyKind, typed: str) -> None:
        self.kind, self.typed = kind, typed
        self.prompts: list[Prompt] = []

    def __call__(self, prompt: Prompt) -> Pin:
        self.prompts.append(prompt)
        return Pin(self.kind, self.typed)


def verifies(result: protocol.SignatureResult, origin: str = ORIGIN) -> None:
    key = x509.load_der_x509_certificate(result.certificate).public_key()
    key.verify(  # type: ignore[union-attr]
        result.signature,
        protocol.signed_value(origin, CHALLENGE),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


@pytest.mark.parametrize(("kind", "typed"), [(KeyKind.AUTH, AUTH_PIN), (KeyKind.SIGN, SIGN_PIN)])
def test_signs_the_origin_bound_value_with_the_right_key(connector, kind, typed) -> None:
    typist = Typist(kind, typed)
    result = perform(request(kind), connector, typist)
    verifies(result)
    assert len(typist.prompts) == 1
    assert typist.prompts[0].tries_left == (3 if kind is KeyKind.AUTH else 5)
    policies = x509.load_der_x509_certificate(result.certificate).issuer.rfc4514_string()
    assert ("user authentication" if kind is KeyKind.AUTH else "digital signature") in policies


def test_a_wrong_pin_is_tried_once_and_reported_with_tries_left(connector) -> None:
    typist = Typist(KeyKind.AUTH, "9999")
    with pytest.raises(errors.WrongPin) as failure:
        perform(request(), connector, typist)
    assert failure.value.tries_left == 2
    assert len(typist.prompts) == 1


def test_the_last_try_is_announced_in_the_prompt(connector) -> None:
    for _ in range(2):
        with pytest.raises(errors.WrongPin):
            perform(request(), connector, Typist(KeyKind.AUTH, "9999"))
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    perform(request(), connector, typist)
    assert typist.prompts[0].last_try


def test_a_locked_pin_fails_before_anyone_is_asked(connector) -> None:
    for _ in range(3):
        with pytest.raises((errors.WrongPin, errors.PinLocked)):
            perform(request(), connector, Typist(KeyKind.AUTH, "9999"))
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    with pytest.raises(errors.PinLocked) as failure:
        perform(request(), connector, typist)
    assert typist.prompts == []
    assert "市区町村の窓口" in failure.value.message("ja")


def test_a_pin_for_the_other_key_is_refused_before_verify(connector, connection) -> None:
    with pytest.raises(errors.PinFormat):
        perform(request(KeyKind.AUTH), connector, Typist(KeyKind.SIGN, SIGN_PIN))
    assert not any(apdu[1] == 0x20 and len(apdu) > 4 for apdu in connection.sent)


def test_a_signature_that_does_not_match_the_certificate_is_refused(connector) -> None:
    result = perform(request(), connector, Typist(KeyKind.AUTH, AUTH_PIN))
    with pytest.raises(errors.CardError, match="does not match"):
        check_signature(result.certificate, result.signature, bytes(32))
