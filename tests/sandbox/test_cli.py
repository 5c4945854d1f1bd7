"""``jpki-sandbox``: its command-line contract, run as the installed console script."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

BIN = Path(sys.executable).parent / "jpki-sandbox"


def sandbox(*args: str, state: Path | None = None, env: dict | None = None):
    command = [str(BIN), *(["--state", str(state)] if state else []), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "state"
    assert sandbox("init", "--base-url", "http://127.0.0.1:8777", state=root).returncode == 0
    return root


@pytest.fixture(scope="module")
def card(state: Path) -> str:
    result = sandbox("issue-card", state=state)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_init_is_idempotent_and_names_the_trust_folders(state: Path) -> None:
    result = sandbox("init", "--base-url", "http://127.0.0.1:8777", state=state)
    assert result.returncode == 0
    assert "kept" in result.stdout
    assert f"{state}/trust/auth" in result.stdout


def test_init_refuses_to_change_the_base_url_silently(state: Path) -> None:
    result = sandbox("init", "--base-url", "http://127.0.0.1:9", state=state)
    assert result.returncode != 0
    assert "base URL" in result.stderr


def test_issue_card_with_explicit_facts(state: Path) -> None:
    result = sandbox(
        "issue-card",
        "--name",
        "髙橋 一郎",
        "--address",
        "大阪府大阪市北区梅田一丁目三番一号",
        "--birthdate",
        "1972-11-03",
        "--gender",
        "male",
        "--auth-pin",
        "0000",
        "--sign-pin",
        "PASSWORD1",
        state=state,
    )
    assert result.returncode == 0, result.stderr
    card = result.stdout.strip().splitlines()[-1]
    pem = sandbox("export", card, "--cert", "sign", state=state).stdout
    san = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert san.value[0].value[2:].decode() == "高橋　一郎"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--auth-pin", "12345"), "4 digits"),
        (("--sign-pin", "short"), "6 to 16"),
        (("--address", "Somewhere 1-2-3"), "prefecture"),
        (("--gender", "other"), "Invalid value"),
        (("--birthdate", "1985-13-01"), "Invalid value"),
    ],
)
def test_issue_card_refuses_bad_arguments(state: Path, args: tuple, message: str) -> None:
    before = sorted((state / "cards").iterdir())
    result = sandbox("issue-card", *args, state=state)
    assert result.returncode != 0
    assert message in result.stderr
    assert sorted((state / "cards").iterdir()) == before


def test_list_export_revoke_hold_release(state: Path, card: str) -> None:
    lines = [json.loads(line) for line in sandbox("list", state=state).stdout.splitlines()]
    entry = next(line for line in lines if line["id"] == card)
    assert entry["status"] == {"auth": "good", "sign": "good"}
    assert entry["tries_left"] == {"auth": 3, "sign": 5}
    pem = sandbox("export", card, "--cert", "auth", state=state).stdout
    assert (
        f"{x509.load_pem_x509_certificate(pem.encode()).serial_number:X}"
        == (entry["serials"]["auth"])
    )
    assert sandbox("hold", card, "--cert", "auth", state=state).returncode == 0
    assert sandbox("release", card, "--cert", "auth", state=state).returncode == 0
    result = sandbox("revoke", card, "--cert", "auth", "--reason", "keyCompromise", state=state)
    assert result.returncode == 0
    lines = [json.loads(line) for line in sandbox("list", state=state).stdout.splitlines()]
    assert next(line for line in lines if line["id"] == card)["status"]["auth"] == "revoked"


def test_unknown_card_and_missing_state_are_clear_errors(state: Path, tmp_path: Path) -> None:
    result = sandbox("export", "deadbeef", "--cert", "auth", state=state)
    assert result.returncode != 0
    assert "unknown card" in result.stderr
    result = sandbox("list", state=tmp_path / "none")
    assert result.returncode != 0
    assert "jpki-sandbox init" in result.stderr


def test_state_directory_from_the_environment(state: Path) -> None:
    env = {**os.environ, "JPKI_SANDBOX_STATE": str(state)}
    assert sandbox("list", env=env).stdout.strip()


def test_serve_on_a_busy_port_is_a_clear_error(state: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = sandbox("serve", "--port", str(busy.getsockname()[1]), state=state)
    assert result.returncode != 0
    assert "busy" in result.stderr


def test_insert_without_a_reachable_reader_is_a_clear_error(state: Path, card: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        result = sandbox("insert", card, "--vpcd-port", str(port), state=state)
    assert result.returncode != 0
    assert "virtual reader" in result.stderr


def test_insert_of_an_unknown_card_is_a_clear_error(state: Path) -> None:
    result = sandbox("insert", "0123456789ab", "--vpcd-port", "1", state=state)
    assert result.returncode != 0
    assert "unknown card" in result.stderr
