"""The state directory: CAs made once, cards, and the revocation registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.state import SandboxError, SandboxState


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    return SandboxState.init(tmp_path_factory.mktemp("sandbox"), "http://127.0.0.1:8765")


@pytest.fixture(scope="module")
def card_id(state: SandboxState) -> str:
    return state.issue_card(SAMPLE_CITIZENS[1], "1234", "ABC123").id


def test_init_twice_keeps_the_cas(state: SandboxState) -> None:
    before = state.ca(CertKind.AUTH).certificate
    again = SandboxState.init(state.root, "http://127.0.0.1:8765")
    assert again.ca(CertKind.AUTH).certificate == before


def test_trust_folder_holds_each_root_as_pem(state: SandboxState) -> None:
    for kind in CertKind:
        files = list(state.trust_dir(kind).glob("*.pem"))
        assert len(files) == 1
        assert x509.load_pem_x509_certificate(files[0].read_bytes()) == state.ca(kind).certificate


def test_opening_a_missing_state_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="jpki-sandbox init"):
        SandboxState(tmp_path)


def test_issued_card_is_registered_as_good(state: SandboxState, card_id: str) -> None:
    record = state.card(card_id)
    assert record.tries_left == {"auth": 3, "sign": 5}
    for kind in CertKind:
        certificate = state.certificate(card_id, kind)
        certificate.verify_directly_issued_by(state.ca(kind).certificate)
        assert f"{certificate.serial_number:X}" == record.serials[kind]
        assert state.registry(kind)[certificate.serial_number].status == "good"
        assert state.private_key(card_id, kind).public_key() == certificate.public_key()


def test_pins_are_stored_hashed_and_compared(state: SandboxState, card_id: str) -> None:
    record = state.card(card_id)
    raw = (state.card_dir(card_id) / "card.json").read_text()
    assert "ABC123" not in raw
    assert record.pin_matches(CertKind.SIGN, "ABC123")
    assert not record.pin_matches(CertKind.SIGN, "ABC124")
    assert record.pin_matches(CertKind.AUTH, "1234")


@pytest.mark.parametrize(
    ("auth", "sign"),
    [
        ("123", "ABC123"),
        ("12a4", "ABC123"),
        ("1234", "abc123"),
        ("1234", "ABC12"),
        ("1234", "A" * 17),
        ("１２３４", "ABC123"),
    ],
)
def test_pin_formats_are_those_of_the_real_card(state: SandboxState, auth: str, sign: str) -> None:
    with pytest.raises(SandboxError, match="PIN"):
        state.issue_card(SAMPLE_CITIZENS[0], auth, sign)


def test_hold_then_release_then_revoke(state: SandboxState) -> None:
    card = state.issue_card(SAMPLE_CITIZENS[2], "4321", "XYZ789").id
    serial = int(state.card(card).serials[CertKind.SIGN], 16)
    state.hold(card, CertKind.SIGN)
    entry = state.registry(CertKind.SIGN)[serial]
    assert (entry.status, entry.reason) == ("hold", "certificateHold")
    state.release(card, CertKind.SIGN)
    entry = state.registry(CertKind.SIGN)[serial]
    assert (entry.status, entry.revoked_at) == ("good", None)
    assert entry.released_at is not None
    state.revoke(card, CertKind.SIGN, "affiliationChanged")
    entry = state.registry(CertKind.SIGN)[serial]
    assert (entry.status, entry.reason) == ("revoked", "affiliationChanged")
    with pytest.raises(SandboxError, match="already revoked"):
        state.revoke(card, CertKind.SIGN, "keyCompromise")
    with pytest.raises(SandboxError, match="not on hold"):
        state.release(card, CertKind.SIGN)
    assert state.registry(CertKind.AUTH)[int(state.card(card).serials["auth"], 16)].status == "good"


def test_unknown_reason_is_refused(state: SandboxState, card_id: str) -> None:
    with pytest.raises(SandboxError, match="unknown reason"):
        state.revoke(card_id, CertKind.AUTH, "certificateHold")


@pytest.mark.parametrize("card", ["nosuchcard", "../../etc", ""])
def test_unknown_or_malformed_card_ids_are_refused(state: SandboxState, card: str) -> None:
    with pytest.raises(SandboxError):
        state.card(card)
