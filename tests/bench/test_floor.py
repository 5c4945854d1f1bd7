"""The floor benchmark runs, and its servers do the checks they are said to cost.

A floor that skipped a check would flatter the stack; each test here feeds the ``crypto``
server a login with one thing wrong and expects a refusal, and the ``none`` server the same
input to show it does not look (what it is there to measure).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from bench.floor import Login, write_keys
from bench.floor_app import Floor, Keys
from bench.flow_jose import b64url

ISSUER = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    folder = tmp_path_factory.mktemp("floor")
    return folder, write_keys(folder, ISSUER)


@pytest.fixture
def login(material):
    return Login(ISSUER, material[1], crypto=True)


def _floor(material, crypto: bool = True) -> Floor:
    return Floor(Keys(material[0]), crypto)


def _card_result(login: Login, challenge: str | None = None) -> dict:
    challenge = challenge or b64url(b"c" * 32)
    return {
        "certificate": login.keys.certificate,
        "challenge": challenge,
        "signature": login._card_signature(challenge),
    }


def _token(floor: Floor, login: Login) -> str:
    _, _, body = floor.token(login._assertion(), login._proof("POST", "/token", {}))
    return json.loads(body)["access_token"]


def test_a_whole_login_passes_every_check(material, login):
    floor = _floor(material)
    assert floor.par(login._assertion())[0] == "201 Created"
    assert floor.result(_card_result(login))[0] == "303 See Other"
    token = _token(floor, login)
    ath = b64url(hashlib.sha256(token.encode()).digest())
    answer = floor.userinfo(f"DPoP {token}", login._proof("GET", "/userinfo", {"ath": ath}))
    assert answer[0] == "200 OK"


def test_an_assertion_signed_by_another_key_is_refused(material, login):
    other = Login(ISSUER, material[1], crypto=True)
    other.keys = SimpleNamespace(
        **{**vars(material[1]), "client": ec.generate_private_key(ec.SECP256R1())}
    )
    with pytest.raises(Exception, match="signature"):
        _floor(material).par(other._assertion())
    assert _floor(material, crypto=False).par(other._assertion())[0] == "201 Created"


def test_a_card_signature_over_another_challenge_is_refused(material, login):
    result = _card_result(login)
    result["challenge"] = b64url(b"d" * 32)
    with pytest.raises(InvalidSignature):
        _floor(material).result(result)
    assert _floor(material, crypto=False).result(result)[0] == "303 See Other"


def test_a_certificate_from_another_ca_is_refused(material, login, tmp_path):
    stranger = write_keys(tmp_path, ISSUER)  # another CA of the same name, another card
    result = _card_result(login)
    result["certificate"] = stranger.certificate
    with pytest.raises(InvalidSignature):
        _floor(material).result(result)


def test_a_proof_for_another_token_is_refused(material, login):
    floor = _floor(material)
    token = _token(floor, login)
    wrong = login._proof("GET", "/userinfo", {"ath": b64url(b"x" * 32)})
    with pytest.raises(ValueError, match="another token"):
        floor.userinfo(f"DPoP {token}", wrong)


def test_a_token_not_signed_by_the_idp_is_refused(material, login):
    floor = _floor(material)
    head, body, _ = _token(floor, login).split(".")
    forged = f"{head}.{body}.{base64.urlsafe_b64encode(bytes(64)).rstrip(b'=').decode()}"
    with pytest.raises(Exception, match="signature"):
        floor.userinfo(f"DPoP {forged}", login._proof("GET", "/userinfo", {}))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("http_server", ["gunicorn", "granian"])
def test_one_second_of_each_server(http_server):
    done = subprocess.run(
        [sys.executable, "-m", "bench.floor", "--seconds", "1", "--rounds", "1",
         "--concurrency", "2", "--http-server", http_server],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["http_server"] == http_server
    assert set(line["servers"]) == {"plain/none", "plain/crypto", "flask/none", "flask/crypto"}
    for figures in line["servers"].values():
        assert figures["errors"] == 0
        assert figures["flows_per_s"] > 0
        assert figures["server_cpu_ms_per_flow"] > 0
