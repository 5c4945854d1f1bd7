"""The IdP's fair peer (bench/peer) logs in as bench.flow's browsers do and refuses what it must.

A peer that skipped a check would make the comparison flatter it: each refusal test sends a
login with one thing wrong (the card's signature, its CA, the CSRF token, a spent challenge, a
replayed client assertion or DPoP proof, a proof without the server's nonce or for another
token) and expects the peer to refuse it. No timed assertion: ``bench.versus`` measures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import subprocess
import sys
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bench.flow_client import CSRF, PAGE_CHALLENGE, Browser, CardSigner, FlowError
from bench.flow_jose import b64url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    from bench.flow_world import World
    from bench.versus import Peer
    from sandbox.server import free_port

    work = tmp_path_factory.mktemp("versus")
    world = World.build(work, database="sqlite", workers=1, cards=1, port=free_port())
    server = None
    try:
        server = Peer(world, free_port())
        server.wait_ready(server.issuer)
        yield world, server, CardSigner(world.cards[0], world.state)
    finally:
        if server is not None:
            server.stop()
        world.close()


def _browser(peer, signer=None) -> Browser:
    world, server, card = peer
    return Browser(
        server.issuer,
        world.client_id,
        world.client_key,
        world.client_kid,
        signer or card,
        resume=True,
    )


def _to_the_card(browser: Browser) -> tuple[str, str, str]:
    """PAR, authorize and the login page: (page path, CSRF token, challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    form = browser.pushed_request(challenge, "s")
    status, _, body = browser._send("POST", "/par", form, step="par")
    assert status == 201, body
    query = urlencode(
        {"client_id": browser.client_id, "request_uri": json.loads(body)["request_uri"]}
    )
    status, headers, _ = browser._send("GET", "/authorize?" + query, step="authorize")
    assert status == 303
    page = urlsplit(headers["Location"]).path
    status, _, html = browser._send("GET", page, step="page")
    assert status == 200
    return page, CSRF.search(html.decode()).group(1), PAGE_CHALLENGE.search(html.decode()).group(1)


def test_a_whole_login_passes_every_check(peer):
    browser = _browser(peer)
    browser.login()
    browser.login()  # a second person on the same relying party
    assert set(browser.timings.steps) == {
        "par",
        "authorize",
        "page",
        "result",
        "resume",
        "token",
        "userinfo",
    }


class _OtherKey:
    """Signs as a card would, with a key the certificate does not hold."""

    def __init__(self, card) -> None:
        self.card = card
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, digest: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        return self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def test_a_card_signature_by_another_key_is_refused(peer):
    browser = _browser(peer, _OtherKey(peer[2].card))
    page, csrf, challenge = _to_the_card(browser)
    form = {"csrf_token": csrf, "result": browser._bridge_result(challenge)}
    status, _, body = browser._send("POST", page + "/result", form, step="result")
    assert (status, body) == (403, b"card refused: signature does not verify")


def test_a_certificate_from_another_ca_is_refused(peer):
    card = peer[2].card
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a J-LIS CA")])
    forged = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(card.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(card.key, hashes.SHA256())
    )
    signer = CardSigner(card, peer[0].state)
    signer.card = type(card)(
        card.card_id, forged.public_bytes(serialization.Encoding.DER), card.key
    )
    browser = _browser(peer, signer)
    page, csrf, challenge = _to_the_card(browser)
    form = {"csrf_token": csrf, "result": browser._bridge_result(challenge)}
    status, _, body = browser._send("POST", page + "/result", form, step="result")
    assert (status, body) == (403, b"card refused: not issued by a trusted CA")


def test_a_wrong_csrf_token_and_a_spent_challenge_are_refused(peer):
    browser = _browser(peer)
    page, csrf, challenge = _to_the_card(browser)
    result = browser._bridge_result(challenge)
    form = {"csrf_token": csrf[::-1], "result": result}
    assert browser._send("POST", page + "/result", form, step="result")[0] == 403
    status, headers, _ = browser._send(
        "POST", page + "/result", {"csrf_token": csrf, "result": result}, step="result"
    )
    assert status == 303
    assert urlsplit(headers["Location"]).path.startswith("/authorize/")
    again = browser._send("POST", page + "/result", {"csrf_token": csrf, "result": result})
    assert again[0] in (400, 403)  # the challenge was spent, the interaction finished


def test_a_replayed_client_assertion_is_refused(peer):
    browser = _browser(peer)
    form = browser.pushed_request(b64url(hashlib.sha256(b"v" * 43).digest()), "s")
    assert browser._send("POST", "/par", form, step="par")[0] == 201
    status, _, body = browser._send("POST", "/par", form, step="par")
    assert status == 401
    assert json.loads(body)["error"] == "invalid_client"


def test_dpop_without_nonce_replayed_or_for_another_token_is_refused(peer, monkeypatch):
    browser = _browser(peer)
    browser.login()
    tokens: list[str] = []
    original = Browser._userinfo

    def keep(self, access_token: str) -> None:
        tokens.append(access_token)
        original(self, access_token)

    monkeypatch.setattr(Browser, "_userinfo", keep)
    browser.login()
    token = tokens[-1]
    userinfo = browser.issuer + "/userinfo"

    def ask(proof: str) -> int:
        headers = {"Authorization": "DPoP " + token, "DPoP": proof}
        return browser._send("GET", "/userinfo", None, headers, "userinfo")[0]

    proof = browser._proof("GET", userinfo, token)
    assert ask(proof) == 200
    assert ask(proof) == 401  # replayed (the library says only "invalid token provided")
    assert ask(browser._proof("GET", userinfo, token)) == 200  # the token itself is good
    assert ask(browser._proof("GET", userinfo, "another token")) == 401  # ath
    assert ask(browser._proof("POST", userinfo, token)) == 401  # htm
    browser.dpop_nonce = None  # a proof without the nonce at /token
    monkeypatch.setattr(Browser, "_token", _token_once)
    with pytest.raises(FlowError, match="token: HTTP 400"):
        browser.login()


def _token_once(self, code: str, verifier: str) -> str:
    """The token request without the retry on ``use_dpop_nonce``."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://rp.bench.example/cb",
        "code_verifier": verifier,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": self._assertion(),
    }
    got = self._send("POST", "/token", form, {"DPoP": self._proof("POST", self.issuer + "/token")})
    if got[0] == 400:
        assert json.loads(got[2])["error"] == "use_dpop_nonce"
        assert got[1]["DPoP-Nonce"]
    return json.loads(self._expect("token", got, 200)[2])["access_token"]


def test_one_round_of_each_side():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.versus",
            "--rounds",
            "1",
            "--seconds",
            "1",
            "--concurrency",
            "1",
            "--cards",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.splitlines()[-1])
    assert line["errors"] == 0
    for side in ("peer", "idp"):
        assert line[side]["flows"] > 0
        assert line[side]["server_cpu_ms_per_flow"] > 0
    assert set(line["peer"]["steps"]) == set(line["idp"]["steps"]) | {"resume"}
    assert line["ratio"] > 0
