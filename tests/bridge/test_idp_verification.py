"""The bridge's answer, taken over HTTP from a card in pcscd, is accepted by the IdP's own
validator (``idp/jpki``: challenge, profile, path, OCSP at the sandbox responder, signature) —
and refused for any other origin."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from idp.jpki.anchors import TrustAnchors
from idp.jpki.bridge import BridgeResult
from idp.jpki.challenge import Challenges
from idp.jpki.errors import BadSignature, BridgeOutdated, OriginMismatch
from idp.jpki.ocsp import OcspService
from idp.jpki.revocation import RevocationChecker
from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from idp.jpki.signature import verify_signature
from idp.jpki.transport import HttpTransport
from idp.jpki.validator import JpkiValidator, Purpose
from idp.storage.ephemeral import MemoryStore
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.bridge.bridge_process import IDP, BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER, SIGN_PIN, insert_card

pytestmark = pytest.mark.pcsc
KIND = {CertificateType.AUTH: CertKind.AUTH, CertificateType.SIGN: CertKind.SIGN}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxState, str]]:
    """A sandbox whose OCSP responder runs at the URL its certificates name."""
    state = SandboxState.init(
        tmp_path_factory.mktemp("idp") / "state", f"http://127.0.0.1:{free_port()}"
    )
    card_id = state.issue_card(SAMPLE_CITIZENS[1], AUTH_PIN, SIGN_PIN).id
    with running_server(state, port=None):
        yield state, card_id


def validator(state: SandboxState, tmp_path: Path) -> JpkiValidator:
    settings = JpkiSettings(
        trust_anchors={kind: state.trust_dir(KIND[kind]) for kind in CertificateType},
        allow_test_roots=True,
        revocation=dict.fromkeys(CertificateType, RevocationPolicy.OCSP),
        crl_index_dir=tmp_path / "crl-index",
    )
    ocsp = OcspService(settings, HttpTransport(), MemoryStore())
    return JpkiValidator(settings, TrustAnchors.from_settings(settings),
                         RevocationChecker(settings, ocsp, {}))  # fmt: skip


@pytest.fixture
def bridge(world: tuple[SandboxState, str], reader_lock: None) -> Iterator[BridgeProcess]:
    process = BridgeProcess.start("--reader", READER)
    try:
        with insert_card(*world):
            yield process
    finally:
        process.stop()


def sign_over_http(bridge: BridgeProcess, path: str, pin: str, challenge: str) -> dict:
    op = bridge.wait(bridge.start_operation(path, challenge).body["id"], "starting")
    bridge.type_pin(pin)
    done = bridge.wait(op["id"], "pin_required")
    assert done["status"] == "done", done
    return done["result"]


def test_the_idp_validator_accepts_the_bridge_login_result(
    bridge: BridgeProcess, world, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    challenges = Challenges(MemoryStore())
    result = sign_over_http(bridge, "/v1/authenticate", AUTH_PIN, challenges.issue("t1", now))
    validated = validator(world[0], tmp_path).verify_bridge_result(
        json.dumps(result), purpose=Purpose.LOGIN, transaction="t1", origin=IDP,
        challenges=challenges, now=now,
    )  # fmt: skip
    assert validated.revocation.source == "ocsp"
    assert validated.facts is None


def test_identity_needs_both_keys_of_the_card_in_the_reader(
    bridge: BridgeProcess, world, tmp_path: Path
) -> None:
    """Version 2 through pcscd: both PINs on standard input, two VERIFYs and two signatures in
    one card session; the IdP proves both certificates. A one-key answer from the same bridge
    (version 1) is refused as ``bridge_outdated``."""
    state, card_id = world
    now = dt.datetime.now(dt.UTC)
    challenges = Challenges(MemoryStore())
    issued = challenges.issue("t1", now)
    started = bridge.call("POST", "/v1/sign", {"challenge": issued, "service": "Sample Bank",
                                               "version": 2})  # fmt: skip
    assert started.status == 202, started.body
    assert started.body["keys"] == ["auth", "sign"]
    op = bridge.wait(started.body["id"], "starting")
    bridge.type_pin(AUTH_PIN)
    bridge.type_pin(SIGN_PIN)
    done = bridge.wait(op["id"], "pin_required")
    assert done["status"] == "done", done
    pair = validator(state, tmp_path).verify_pair_result(
        json.dumps(done["result"]), transaction="t1", origin=IDP, challenges=challenges, now=now
    )
    auth = state.certificate(card_id, CertKind.AUTH)
    assert pair.authentication.serial == f"{auth.serial_number:X}"
    assert pair.signing.facts is not None
    one_key = sign_over_http(bridge, "/v1/sign", SIGN_PIN, challenges.issue("t2", now))
    with pytest.raises(BridgeOutdated):
        validator(state, tmp_path).verify_pair_result(
            json.dumps(one_key), transaction="t2", origin=IDP, challenges=challenges, now=now
        )


def test_a_wrong_first_pin_keeps_the_signing_password_away_from_the_card(
    bridge: BridgeProcess, world
) -> None:
    state, card_id = world
    started = bridge.call("POST", "/v1/sign", {"challenge": "A" * 43, "service": "Sample Bank",
                                               "version": 2})  # fmt: skip
    op = bridge.wait(started.body["id"], "starting")
    assert op["status"] == "pin_required"
    bridge.type_pin("9999")
    bridge.type_pin(SIGN_PIN)
    failed = bridge.wait(op["id"], "pin_required")
    assert (failed["status"], failed["error"], failed["pin"]) == ("failed", "wrong_pin", "auth")
    assert failed["tries_left"] == 2
    assert state.card(card_id).tries_left[CertKind.SIGN] == 5  # never sent to the card
    assert state.card(card_id).tries_left[CertKind.AUTH] == 2
    record = state.card(card_id)  # the module's card serves the other tests: full tries again
    record.tries_left[CertKind.AUTH] = 3
    state.save_card(record)


def test_an_idp_on_another_origin_refuses_it(bridge: BridgeProcess, world, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    challenges = Challenges(MemoryStore())
    result = sign_over_http(bridge, "/v1/authenticate", AUTH_PIN, challenges.issue("t1", now))
    with pytest.raises(OriginMismatch):
        validator(world[0], tmp_path).verify_bridge_result(
            json.dumps(result), purpose=Purpose.LOGIN, transaction="t1",
            origin="https://phish.example", challenges=challenges, now=now,
        )  # fmt: skip
    parsed = BridgeResult.parse(result)
    certificate = x509.load_der_x509_certificate(parsed.certificate)
    challenge = base64.urlsafe_b64decode(parsed.challenge + "=")
    verify_signature(certificate, parsed.signature, IDP, challenge)
    with pytest.raises(BadSignature):  # even with a forged echo, the signature binds IDP
        verify_signature(certificate, parsed.signature, "https://phish.example", challenge)
