"""The JPKI suite's world: one sandbox (CAs, cards, HTTP responder) per session, real stores.

Keys cost 0.1-0.3 s each, so CAs, cards and a spare card key are made once per session; tests bend
certificates with the sandbox's knobs (docs/contributing.md §7) and never share mutable state: each
gets its own store (its own Redis prefix) and its own CRL index folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki import signature
from idp.jpki.anchors import TrustAnchors
from idp.jpki.crl_fallback import CrlFallback
from idp.jpki.crl_updater import CrlUpdater
from idp.jpki.ocsp import OcspService
from idp.jpki.revocation import RevocationChecker
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.transport import HttpTransport
from idp.jpki.validator import JpkiValidator
from idp.storage.ephemeral import MemoryStore, RedisStore
from sandbox import pki
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import RunningServer, free_port, running_server
from sandbox.state import CardRecord, SandboxState
from tests.conftest import REDIS_URL

ORIGIN = "https://idp.example.jp"
KIND = {CertificateType.AUTH: CertKind.AUTH, CertificateType.SIGN: CertKind.SIGN}


@pytest.fixture(scope="session")
def state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    root = tmp_path_factory.mktemp("jpki-sandbox")
    return SandboxState.init(root, f"http://127.0.0.1:{free_port()}")


@pytest.fixture(scope="session")
def server(state: SandboxState) -> Iterator[RunningServer]:
    with running_server(state, port=None) as running:
        yield running


@dataclass(frozen=True)
class Cards:
    good: CardRecord
    revoked: CardRecord
    """auth revoked (keyCompromise), sign on hold."""


@pytest.fixture(scope="session")
def cards(state: SandboxState) -> Cards:
    good = state.issue_card(SAMPLE_CITIZENS[1], "1234", "ABC123")
    revoked = state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123")
    state.revoke(revoked.id, CertKind.AUTH, "keyCompromise")
    state.hold(revoked.id, CertKind.SIGN)
    return Cards(good, revoked)


@pytest.fixture(scope="session")
def auth_ca(state: SandboxState) -> pki.CertificateAuthority:
    return state.ca(CertKind.AUTH)


@pytest.fixture(scope="session")
def sign_ca(state: SandboxState) -> pki.CertificateAuthority:
    return state.ca(CertKind.SIGN)


@pytest.fixture(scope="session")
def foreign_ca() -> pki.CertificateAuthority:
    """Same names as the real CA, another key: what a forger would make."""
    return pki.make_ca(CertKind.AUTH, now=dt.datetime.now(dt.UTC))


@pytest.fixture(scope="session")
def card_key() -> rsa.RSAPrivateKey:
    return pki.new_key()


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[MemoryStore | RedisStore]:
    """Each store-dependent test runs on the in-process store and on the real Redis."""
    if request.param == "memory":
        yield MemoryStore()
        return
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"test-jpki-{secrets.token_hex(6)}:"
    yield RedisStore(client, prefix)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def make_settings(state: SandboxState, server: RunningServer, tmp: Path, **changes) -> JpkiSettings:
    base = JpkiSettings(
        trust_anchors={kind: state.trust_dir(KIND[kind]) for kind in CertificateType},
        allow_test_roots=True,
        crl_urls={kind: server.crl_url(kind) for kind in CertificateType},
        delta_crl_urls={kind: server.crl_url(kind, delta=True) for kind in CertificateType},
        crl_index_dir=tmp / "crl-index",
        ocsp_timeout=1.0,
    )
    return base.__class__(**{**base.__dict__, **changes})


@pytest.fixture
def settings(state: SandboxState, server: RunningServer, tmp_path: Path) -> JpkiSettings:
    return make_settings(state, server, tmp_path)


@dataclass
class Stack:
    settings: JpkiSettings
    anchors: TrustAnchors
    ocsp: OcspService
    updater: CrlUpdater
    validator: JpkiValidator


def build_stack(settings: JpkiSettings, store, transport=None) -> Stack:
    transport = transport or HttpTransport()
    anchors = TrustAnchors.from_settings(settings)
    ocsp = OcspService(settings, transport, store)
    updater = CrlUpdater(settings, anchors.roots, transport)
    sources = {k: updater.source(k) for k in CertificateType}
    fallback = CrlFallback(settings, updater.refresh)
    checker = RevocationChecker(settings, ocsp, sources, fallback)
    return Stack(settings, anchors, ocsp, updater, JpkiValidator(settings, anchors, checker))


@pytest.fixture
def stack(settings: JpkiSettings, store) -> Stack:
    return build_stack(settings, store)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def card_sign(key: rsa.RSAPrivateKey, origin: str, challenge: bytes) -> bytes:
    """What the card does: PKCS#1 v1.5 type 1 over the SHA-256 DigestInfo the bridge sends."""
    digest = hashlib.sha256(signature.signed_value(origin, challenge)).digest()
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def bridge_result(certificate, key, challenge: str, *, origin: str = ORIGIN, purpose="login",
                  signed_origin: str | None = None, **changes) -> dict:  # fmt: skip
    raw = base64.urlsafe_b64decode(challenge + "=")
    der = certificate.public_bytes(serialization.Encoding.DER)
    result = {
        "version": 1, "purpose": purpose, "origin": origin, "challenge": challenge,
        "certificate": b64url(der),
        "signature": b64url(card_sign(key, signed_origin or origin, raw)),
        "algorithm": "RS256", "format": "jpki-origin-challenge-v1",
    }  # fmt: skip
    result.update(changes)
    return result


def pair_result(state, card, challenge: str, *, signer=None, auth_challenge: str | None = None,
                origin: str = ORIGIN, **changes) -> dict:  # fmt: skip
    """The bridge's two-key identity answer (bridge-protocol.md §9): ``card``'s authentication
    key and the signing key of ``signer`` (by default the same card) over ``challenge``;
    ``auth_challenge`` has the authentication key sign another one (a mismatched pair)."""
    from sandbox.profiles import CertKind

    signer = signer or card
    auth = bridge_result(state.certificate(card.id, CertKind.AUTH),
                         state.private_key(card.id, CertKind.AUTH),
                         auth_challenge or challenge, origin=origin)  # fmt: skip
    sign = bridge_result(state.certificate(signer.id, CertKind.SIGN),
                         state.private_key(signer.id, CertKind.SIGN), challenge, origin=origin,
                         purpose="identity")  # fmt: skip
    result = {
        **sign, "version": 2, "format": "jpki-origin-challenge-pair-v2",
        "authentication_certificate": auth["certificate"],
        "authentication_signature": auth["signature"],
    }  # fmt: skip
    result.update(changes)
    return {k: v for k, v in result.items() if v is not None}
