"""``jpki-bridge status | read-certs | selftest`` against the card in pcscd: readable output and
an exit status that says whether it worked."""

from __future__ import annotations

import subprocess

import pytest

from tests.bridge.bridge_process import JPKI_BRIDGE
from tests.bridge.conftest import AUTH_PIN, READER, SIGN_PIN, InsertedCard

pytestmark = pytest.mark.pcsc


def bridge(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JPKI_BRIDGE, *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_status_with_a_card(inserted: InsertedCard) -> None:
    done = bridge("status", "--reader", READER)
    assert done.returncode == 0, done.stderr
    assert f"JPKI card ready in '{READER}'; certificates: auth, sign" in done.stdout


def test_status_without_a_card_fails_in_both_languages(reader_lock: None) -> None:
    done = bridge("status", "--reader", READER)
    assert done.returncode == 1
    assert "no_card" in done.stdout
    assert "マイナンバーカード" in done.stdout


def test_status_of_an_unknown_reader(reader_lock: None) -> None:
    done = bridge("status", "--reader", "No Such Reader")
    assert done.returncode == 1
    assert "no_reader" in done.stdout


def test_read_certs_shows_the_auth_certificate_only(inserted: InsertedCard) -> None:
    done = bridge("read-certs", "--reader", READER)
    assert done.returncode == 0, done.stderr
    assert "JPKI for user authentication" in done.stdout
    assert "readable only with the signing password" in done.stdout
    pem = bridge("read-certs", "--reader", READER, "--pem")
    assert pem.stdout.startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize(("key", "pin"), [("auth", AUTH_PIN), ("sign", SIGN_PIN.lower())])
def test_selftest_signs_and_verifies(inserted: InsertedCard, key: str, pin: str) -> None:
    done = bridge("selftest", "--reader", READER, "--key", key, "--pin-stdin", stdin=pin + "\n")
    assert done.returncode == 0, done.stderr
    assert "test signature verified" in done.stdout
    assert pin not in done.stdout + done.stderr


def test_selftest_with_a_wrong_pin_warns_before_the_last_try(inserted: InsertedCard) -> None:
    first = bridge("selftest", "--reader", READER, "--pin-stdin", stdin="9999\n")
    assert first.returncode == 1
    assert "wrong_pin" in first.stderr
    second = bridge("selftest", "--reader", READER, "--pin-stdin", stdin="9999\n")
    assert "last try" in second.stderr
    assert "市区町村の窓口" in second.stderr
    third = bridge("selftest", "--reader", READER, "--pin-stdin", stdin=AUTH_PIN + "\n")
    assert "This is your last try" in third.stderr  # shown before the PIN is asked
    assert third.returncode == 0


def test_selftest_with_a_badly_shaped_pin_spends_no_try(inserted: InsertedCard) -> None:
    done = bridge("selftest", "--reader", READER, "--pin-stdin", stdin="12\n")
    assert done.returncode == 1
    assert "pin_format" in done.stderr
    after = bridge("selftest", "--reader", READER, "--pin-stdin", stdin=AUTH_PIN + "\n")
    assert "PIN tries left: 3" in after.stderr


def test_run_refuses_to_start_without_an_allowed_origin() -> None:
    assert bridge("run").returncode == 2
    refused = bridge("run", "--allow-origin", "http://idp.example.jp")
    assert refused.returncode == 2
    assert "plain http" in refused.stderr
