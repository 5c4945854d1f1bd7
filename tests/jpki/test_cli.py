"""``jpki check``: one JSON line, exit 0 only for good."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from idp.jpki.cli import jpki
from idp.jpki.settings import CertificateType, JpkiSettings
from sandbox import pki
from sandbox.profiles import CertKind
from sandbox.state import pem
from tests.jpki.conftest import make_settings

pytestmark = pytest.mark.usefixtures("server")


def _write(tmp_path, certificate, name="card.pem"):
    path = tmp_path / name
    path.write_bytes(pem(certificate))
    return path


def _run(args, obj=None):
    result = CliRunner().invoke(jpki, args, obj=obj)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return result.exit_code, json.loads(lines[0])


def test_good_card_prints_good_and_exits_0(state, cards, tmp_path):
    path = _write(tmp_path, state.certificate(cards.good.id, CertKind.AUTH))
    code, line = _run(["check", str(path), "--trust-anchors", str(state.trust_dir(CertKind.AUTH)),
                       "--allow-test-roots"])  # fmt: skip
    assert (code, line["status"], line["source"]) == (0, "good", "ocsp")
    assert set(line) >= {"status", "reason", "source", "checked_at", "serial", "issuer"}


def test_revoked_card_prints_revoked_and_exits_1(state, cards, tmp_path):
    path = _write(tmp_path, state.certificate(cards.revoked.id, CertKind.AUTH))
    for policy in ("ocsp", "crl", "ocsp,crl"):
        anchors = str(state.trust_dir(CertKind.AUTH))
        code, line = _run(["check", str(path), "--trust-anchors", anchors,
                           "--allow-test-roots", "--revocation", policy])  # fmt: skip
        assert (code, line["status"]) == (1, "revoked"), policy
        assert line["source"] == policy.split(",")[0], policy


def test_signing_certificate_checked_for_login_is_wrong_certificate_type(state, cards, tmp_path):
    path = _write(tmp_path, state.certificate(cards.good.id, CertKind.SIGN))
    code, line = _run(["check", str(path), "--purpose", "login", "--trust-anchors",
                       str(state.trust_dir(CertKind.AUTH)), "--allow-test-roots"])  # fmt: skip
    assert (code, line["status"]) == (1, "wrong_certificate_type")


def test_expired_card_prints_expired(state, tmp_path, card_key):
    certificate = pki.make_auth_certificate(
        state.ca(CertKind.AUTH), card_key.public_key(), expired=True
    )
    code, line = _run(["check", str(_write(tmp_path, certificate)), "--trust-anchors",
                       str(state.trust_dir(CertKind.AUTH)), "--allow-test-roots"])  # fmt: skip
    assert (code, line["status"]) == (1, "expired")


def test_test_roots_without_the_flag_are_a_configuration_error(state, cards, tmp_path):
    path = _write(tmp_path, state.certificate(cards.good.id, CertKind.AUTH))
    code, line = _run(["check", str(path), "--trust-anchors", str(state.trust_dir(CertKind.AUTH))])
    assert (code, line["status"]) == (2, "configuration_error")


def test_garbage_file_prints_malformed(tmp_path, state):
    path = tmp_path / "x.pem"
    path.write_bytes(b"not a certificate")
    code, line = _run(["check", str(path), "--trust-anchors", str(state.trust_dir(CertKind.AUTH)),
                       "--allow-test-roots"])  # fmt: skip
    assert (code, line["status"]) == (1, "malformed")


def test_settings_in_the_click_context_are_the_defaults(state, server, cards, tmp_path):
    settings = dataclasses.replace(make_settings(state, server, tmp_path), ocsp_timeout=2.0)
    assert isinstance(settings, JpkiSettings)
    assert CertificateType.AUTH in settings.trust_anchors
    path = _write(tmp_path, state.certificate(cards.good.id, CertKind.AUTH))
    code, line = _run(["check", str(path), "--revocation", "crl"], obj=settings)
    assert (code, line["status"], line["source"]) == (0, "good", "crl")


@pytest.mark.parametrize("purpose", ["login", "identity"])
def test_command_runs_as_a_module_in_a_subprocess(state, cards, tmp_path, purpose):
    kind = CertKind.AUTH if purpose == "login" else CertKind.SIGN
    path = _write(tmp_path, state.certificate(cards.revoked.id, kind))
    completed = subprocess.run(
        [sys.executable, "-m", "idp.jpki", "check", str(path), "--purpose", purpose,
         "--trust-anchors", str(state.trust_dir(kind)), "--allow-test-roots"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    line = json.loads(completed.stdout.strip())
    assert completed.returncode == 1
    assert line["status"] == ("revoked" if purpose == "login" else "on_hold")


def test_anchors_lists_each_root_with_its_fingerprint(state):
    result = CliRunner().invoke(jpki, ["anchors", str(state.trust_dir(CertKind.SIGN))])
    line = json.loads(result.output.strip())
    root = state.ca(CertKind.SIGN).certificate
    assert result.exit_code == 0
    assert line["fingerprint"] == root.fingerprint(_sha256()).hex().upper()
    assert (line["test_root"], line["known_jlis"]) == (True, False)


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def test_jpki_block_of_an_idp_config_object_is_used(state, server, cards, tmp_path):
    class Config:  # stands for idp.config.Config, which embeds JpkiSettings as .jpki
        jpki = make_settings(state, server, tmp_path)

    path = _write(tmp_path, state.certificate(cards.good.id, CertKind.AUTH))
    code, line = _run(["check", str(path), "--revocation", "crl"], obj=Config())
    assert (code, line["status"], line["source"]) == (0, "good", "crl")
