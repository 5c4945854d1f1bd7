"""The bridge's card path through the real PC/SC stack: pcscd, vpcd, the sandbox card in
"Virtual PCD 00 01". Exactly the code a real reader uses (PcscConnector)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from cryptography import x509
from smartcard import scard

from client_bridge import errors, protocol, status
from client_bridge.operation import Prompt, Request, perform
from client_bridge.pin import KeyKind, Pin
from client_bridge.session import PcscConnector
from sandbox.card.vpcd import VpcdSession
from tests.bridge.conftest import AUTH_PIN, READER, SIGN_PIN, VPCD_PORT, InsertedCard, wait_for
from tests.bridge.test_operation import Typist, verifies

pytestmark = pytest.mark.pcsc

ORIGIN = "https://idp.example.jp"
CHALLENGE = bytes(range(32))
BRIDGE = PcscConnector(READER)


def request(kind: KeyKind = KeyKind.AUTH) -> Request:
    return Request(kind, ORIGIN, CHALLENGE, "Sample Bank")


def test_authenticate_with_the_auth_key(inserted: InsertedCard) -> None:
    result = perform(request(), BRIDGE, Typist(KeyKind.AUTH, AUTH_PIN))
    verifies(result)
    issuer = x509.load_der_x509_certificate(result.certificate).issuer.rfc4514_string()
    assert "JPKI for user authentication" in issuer


def test_sign_with_the_signing_key(inserted: InsertedCard) -> None:
    result = perform(request(KeyKind.SIGN), BRIDGE, Typist(KeyKind.SIGN, SIGN_PIN))
    verifies(result)
    issuer = x509.load_der_x509_certificate(result.certificate).issuer.rfc4514_string()
    assert "JPKI for digital signature" in issuer


def test_wrong_pin_reports_tries_left_and_the_count_persists(inserted: InsertedCard) -> None:
    with pytest.raises(errors.WrongPin) as failure:
        perform(request(), BRIDGE, Typist(KeyKind.AUTH, "9999"))
    assert failure.value.tries_left == 2
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    perform(request(), BRIDGE, typist)
    assert typist.prompts[0].tries_left == 2


def test_three_wrong_pins_lock_and_a_locked_pin_is_never_asked(inserted: InsertedCard) -> None:
    for expected in (2, 1):
        with pytest.raises(errors.WrongPin) as failure:
            perform(request(), BRIDGE, Typist(KeyKind.AUTH, "9999"))
        assert failure.value.tries_left == expected
    with pytest.raises(errors.PinLocked):
        perform(request(), BRIDGE, Typist(KeyKind.AUTH, "9999"))
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    with pytest.raises(errors.PinLocked):
        perform(request(), BRIDGE, typist)
    assert typist.prompts == []
    # the signing PIN is separate and still works
    verifies(perform(request(KeyKind.SIGN), BRIDGE, Typist(KeyKind.SIGN, SIGN_PIN)))


def test_card_removed_while_the_pin_is_typed(inserted: InsertedCard) -> None:
    def remove_then_type(prompt: Prompt) -> Pin:
        inserted.remove()
        return Pin(KeyKind.AUTH, AUTH_PIN)

    with pytest.raises(errors.CardRemoved):
        perform(request(), BRIDGE, remove_then_type)


def test_no_card_in_the_reader(reader_lock: None) -> None:
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    with pytest.raises(errors.NoCard):
        perform(request(), BRIDGE, typist)
    assert typist.prompts == []


def test_no_such_reader(reader_lock: None) -> None:
    with pytest.raises(errors.NoReader):
        perform(request(), PcscConnector("No Such Reader 00 00"), Typist(KeyKind.AUTH, AUTH_PIN))


def test_reader_held_exclusively_by_another_program_is_busy(inserted: InsertedCard) -> None:
    _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    result, card, _ = scard.SCardConnect(
        context,
        READER,
        scard.SCARD_SHARE_EXCLUSIVE,
        scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
    )
    assert result == scard.SCARD_S_SUCCESS
    try:
        with pytest.raises(errors.ReaderBusy):
            perform(request(), BRIDGE, Typist(KeyKind.AUTH, AUTH_PIN))
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    verifies(perform(request(), BRIDGE, Typist(KeyKind.AUTH, AUTH_PIN)))


def test_no_pin_stays_verified_after_an_operation(inserted: InsertedCard) -> None:
    perform(request(), BRIDGE, Typist(KeyKind.AUTH, AUTH_PIN))
    _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _, card, protocol_ = scard.SCardConnect(
        context, READER, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    )
    try:
        sign = "802A008033" + protocol.digest_info(ORIGIN, CHALLENGE).hex() + "00"
        commands = ["00A4040C0AD392F000260100000001", "00A4020C020017", sign]
        answers = [
            scard.SCardTransmit(card, protocol_, list(bytes.fromhex(c)))[1] for c in commands
        ]
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    assert bytes(answers[-1][-2:]) == bytes.fromhex("6982")


def test_status_reports_the_card_and_its_certificates(inserted: InsertedCard) -> None:
    report = status.report(READER)
    assert report["card"] == {"ready": True, "reader": READER, "certificates": ["auth", "sign"]}
    assert {"name": READER, "card_present": True} in report["readers"]


class BankCard:
    """Another ISO 7816 card (no JPKI AP): what a bank card answers to our SELECT."""

    atr = bytes.fromhex("3BE000FF8131FE4514")
    card_id = "bank"

    def power_on(self) -> bytes:
        return self.atr

    reset = power_on

    def power_off(self) -> None:
        pass

    def transmit(self, apdu: bytes) -> bytes:
        return bytes.fromhex("6A82" if apdu[1] == 0xA4 else "6D00")


@pytest.fixture
def bank_card(reader_lock: None) -> Iterator[None]:
    """A non-JPKI card in Virtual PCD 00 01, served by the sandbox's vpcd session in a thread."""
    session = VpcdSession(BankCard(), port=VPCD_PORT, say=lambda _line: None)  # type: ignore[arg-type]
    thread = threading.Thread(target=session.serve, args=(session.connect(),), daemon=True)
    thread.start()
    try:
        assert wait_for(present=True)
        yield
    finally:
        session.stop()
        thread.join(10)
        session.close()
        assert wait_for(present=False)


def test_a_card_without_the_jpki_ap_is_not_a_jpki_card(bank_card: None) -> None:
    typist = Typist(KeyKind.AUTH, AUTH_PIN)
    with pytest.raises(errors.NotJpkiCard):
        perform(request(), BRIDGE, typist)
    assert typist.prompts == []
    assert status.report(READER)["card"]["error"] == "not_jpki_card"
