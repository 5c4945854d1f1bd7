"""OpenSC, written for real My Number Cards, against the virtual card in pcscd (docs/jpki.md §6).

Each test gets a freshly personalised card in "Virtual PCD 00 00" (PINs 1234 / ABC123). OpenSC
runs with its packaged configuration: nothing here tells it the card is a JPKI card.
"""

from __future__ import annotations

import glob
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from sandbox.profiles import CertKind
from tests.sandbox.card.conftest import READER

pytestmark = pytest.mark.pcsc

MODULE_CANDIDATES = (
    "/usr/lib/*-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/*-linux-gnu/pkcs11/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
)
MESSAGE = b"origin and challenge, signed by the card\n"


@pytest.fixture(scope="module")
def pkcs11_module() -> str:
    for pattern in MODULE_CANDIDATES:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    pytest.fail(
        "OpenSC's PKCS#11 module is missing: install the Debian package opensc-pkcs11",
        pytrace=False,
    )


def tool(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def pkcs15(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return tool("pkcs15-tool", "--reader", READER, *args, check=check)


def pkcs11(module: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return tool("pkcs11-tool", "--module", module, *args, check=check)


def pkcs11_sign(
    module: str, key_id: str, message: Path, output: Path, *login: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """pkcs11-tool signing ``message`` with SHA256-RSA-PKCS; ``login`` adds slot and PIN options."""
    sign = (
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "--id",
        key_id,
        "-i",
        str(message),
        "-o",
        str(output),
    )
    return pkcs11(module, *login, *sign, check=check)


def pem_certificate(output: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(output.encode())


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def tries_left(listing: str) -> list[int]:
    return [int(n) for n in re.findall(r"Tries left\s*:\s*(\d+)", listing)]


def test_opensc_recognises_a_jpki_card_with_an_empty_configuration(inserted_card, tmp_path):
    empty = tmp_path / "opensc.conf"
    empty.write_text("")
    env = {"OPENSC_CONF": str(empty), "PATH": "/usr/bin:/bin"}
    name = subprocess.run(
        ["opensc-tool", "--reader", READER, "--name"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    assert name.stdout.strip() == "jpki"
    atr = tool("opensc-tool", "--reader", READER, "--atr")
    assert atr.stdout.strip() == "3b:e0:00:ff:81:31:fe:45:14"


def test_pkcs15_lists_both_certificates_and_both_ca_certificates(inserted_card):
    listing = pkcs15("--list-certificates").stdout
    for label, path in [
        ("User Authentication Certificate", "000a"),
        ("Digital Signature Certificate", "0001"),
        ("User Authentication Certificate CA", "000b"),
        ("Digital Signature Certificate CA", "0002"),
    ]:
        assert re.search(rf"\[{label}\]\n(?:.*\n)*?\s*Path\s*: {path}\n", listing), label


def test_pkcs15_reads_the_auth_certificate_and_the_ca_certificates(inserted_card):
    state, card_id = inserted_card.state, inserted_card.card_id
    read = {n: pem_certificate(pkcs15("--read-certificate", str(n)).stdout) for n in (1, 3, 4)}
    assert der(read[1]) == der(state.certificate(card_id, CertKind.AUTH))
    assert der(read[3]) == der(state.ca(CertKind.AUTH).root.certificate)
    assert der(read[4]) == der(state.ca(CertKind.SIGN).root.certificate)


def test_pkcs15_cannot_read_the_signing_certificate_before_the_signing_pin(inserted_card):
    result = pkcs15("--read-certificate", "2", check=False)
    assert result.returncode != 0
    assert "BEGIN CERTIFICATE" not in result.stdout
    assert "Certificate read failed" in result.stderr + result.stdout


def test_pkcs15_reads_the_signing_certificate_after_verify_pin_auth_id_02(inserted_card):
    result = pkcs15(
        "--verify-pin",
        "--auth-id",
        "02",
        "--pin",
        inserted_card.sign_pin,
        "--read-certificate",
        "2",
    )
    certificate = pem_certificate(result.stdout)
    expected = inserted_card.state.certificate(inserted_card.card_id, CertKind.SIGN)
    assert der(certificate) == der(expected)


def test_pkcs11_signs_with_the_auth_key_and_openssl_verifies(
    inserted_card, pkcs11_module, tmp_path: Path
):
    message, signature = tmp_path / "message", tmp_path / "signature"
    message.write_bytes(MESSAGE)
    pkcs11_sign(pkcs11_module, "01", message, signature, "--login", "--pin", inserted_card.auth_pin)
    cert_pem = tmp_path / "auth.pem"
    cert_pem.write_text(pkcs15("--read-certificate", "1").stdout)  # exported from the card
    public_key = tmp_path / "auth.pub"
    tool("openssl", "x509", "-in", str(cert_pem), "-pubkey", "-noout", "-out", str(public_key))
    verified = tool(
        "openssl",
        "dgst",
        "-sha256",
        "-verify",
        str(public_key),
        "-signature",
        str(signature),
        str(message),
    )
    assert verified.stdout.strip() == "Verified OK"


def test_pkcs11_signs_with_the_signing_key_after_its_pin(inserted_card, pkcs11_module, tmp_path):
    message, signature = tmp_path / "message", tmp_path / "signature"
    message.write_bytes(MESSAGE)
    slots = pkcs11(pkcs11_module, "--list-token-slots").stdout
    signing_slot = (
        r"Slot \d+ \((0x[0-9a-f]+)\): .*\n\s*token label\s*: JPKI \(Digital Signature PIN\)"
    )
    slot = re.search(signing_slot, slots)
    assert slot, slots
    pkcs11_sign(
        pkcs11_module,
        "02",
        message,
        signature,
        "--slot",
        slot.group(1),
        "--login",
        "--pin",
        inserted_card.sign_pin,
    )
    certificate = inserted_card.state.certificate(inserted_card.card_id, CertKind.SIGN)
    certificate.public_key().verify(
        signature.read_bytes(), MESSAGE, padding.PKCS1v15(), hashes.SHA256()
    )


def test_pkcs11_signature_without_login_is_refused(inserted_card, pkcs11_module, tmp_path):
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    result = pkcs11_sign(pkcs11_module, "01", message, tmp_path / "sig", check=False)
    assert result.returncode != 0


def test_tries_left_are_shown_after_a_wrong_pin(inserted_card, pkcs11_module):
    assert tries_left(pkcs15("--list-pins").stdout) == [3, 5]
    wrong = pkcs15("--verify-pin", "--auth-id", "01", "--pin", "9999", check=False)
    assert wrong.returncode != 0
    assert tries_left(pkcs15("--list-pins").stdout) == [2, 5]
    token = pkcs11(pkcs11_module, "--list-token-slots").stdout
    assert "user PIN count low" in token
    pkcs15("--verify-pin", "--auth-id", "02", "--pin", "WRONG1", check=False)
    assert tries_left(pkcs15("--list-pins").stdout) == [2, 4]


def test_the_bare_verify_sent_by_opensc_tool_answers_63cx(inserted_card):
    result = tool(
        "opensc-tool",
        "--reader",
        READER,
        "-s",
        "00A4040C0AD392F000260100000001",
        "-s",
        "00A4020C020018",
        "-s",
        "00200080",
    )
    assert "Received (SW1=0x63, SW2=0xC3)" in result.stdout


def test_the_right_pin_is_refused_after_three_wrong_ones(inserted_card, pkcs11_module, tmp_path):
    message = tmp_path / "message"
    message.write_bytes(MESSAGE)
    for _ in range(3):
        wrong = pkcs11_sign(
            pkcs11_module, "01", message, tmp_path / "s", "--login", "--pin", "0000", check=False
        )
        assert wrong.returncode != 0
        assert "CKR_PIN_INCORRECT" in wrong.stderr + wrong.stdout
    right = pkcs11_sign(
        pkcs11_module,
        "01",
        message,
        tmp_path / "s",
        "--login",
        "--pin",
        inserted_card.auth_pin,
        check=False,
    )
    assert right.returncode != 0
    assert "CKR_PIN_LOCKED" in right.stderr + right.stdout
    assert tries_left(pkcs15("--list-pins").stdout) == [0, 5]
    assert inserted_card.state.card(inserted_card.card_id).tries_left[CertKind.AUTH] == 0
