"""The card login's world: a sandbox (CAs, cards, a live OCSP responder) and a testing IdP whose
authenticator is the card login, trusting the sandbox's roots.

Cards are made once per session (RSA keys are slow): a good one, one whose authentication
certificate is revoked, one on hold, and an expired certificate signed by the sandbox CA.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.jpki.settings import CertificateType, JpkiSettings, RevocationPolicy
from sandbox import pki
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import RunningServer, free_port, running_server
from sandbox.state import SandboxState
from tests.login.cards import compile_catalogues

KIND = {CertificateType.AUTH: CertKind.AUTH, CertificateType.SIGN: CertKind.SIGN}


@dataclass(frozen=True)
class Card:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class World:
    state: SandboxState
    server: RunningServer
    good: Card
    revoked: Card
    on_hold: Card
    expired: Card
    other: Card
    """A second good card: another person."""


def _card(state: SandboxState, card_id: str) -> Card:
    return Card(
        state.certificate(card_id, CertKind.AUTH), state.private_key(card_id, CertKind.AUTH)
    )


@pytest.fixture(scope="session", autouse=True)
def catalogues() -> None:
    compile_catalogues()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = SandboxState.init(
        tmp_path_factory.mktemp("login") / "state", f"http://127.0.0.1:{free_port()}"
    )
    ids = [state.issue_card(SAMPLE_CITIZENS[i % 2], "1234", "ABC123").id for i in range(4)]
    state.revoke(ids[1], CertKind.AUTH, "keyCompromise")
    state.hold(ids[2], CertKind.AUTH)
    key = pki.new_key()
    expired = pki.make_auth_certificate(
        state.ca(CertKind.AUTH), key.public_key(), now=dt.datetime.now(dt.UTC), expired=True
    )
    with running_server(state, port=None) as server:
        yield World(
            state,
            server,
            good=_card(state, ids[0]),
            revoked=_card(state, ids[1]),
            on_hold=_card(state, ids[2]),
            expired=Card(expired, key),
            other=_card(state, ids[3]),
        )


def jpki_settings(state: SandboxState, tmp: Path, **changes) -> JpkiSettings:
    """Trust the sandbox's roots; revocation by OCSP at the live responder."""
    return JpkiSettings(
        trust_anchors={kind: state.trust_dir(KIND[kind]) for kind in CertificateType},
        allow_test_roots=True,
        revocation=dict.fromkeys(CertificateType, RevocationPolicy.OCSP),
        crl_index_dir=tmp / "crl-index",
        ocsp_timeout=1.0,
        **changes,
    )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/idp.sqlite3"


@pytest.fixture
def card_app(world: World, database_url: str, tmp_path: Path):
    """A testing IdP whose authenticator is the card login."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(database_url, jpki=jpki_settings(world.state, tmp_path))
    application = make_app(config, tmp_path / "instance")
    yield application
    drop_schema(application)


@pytest.fixture
def rp(card_app):
    """A relying party registered at the card-login IdP, visiting it with one browser."""
    from idp.oidc.clients import register_client
    from tests.oidc.rp import RelyingParty

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank", ["https://rp.example/cb"], "client_secret_basic"
        )
        client_id = client.client_id
    return RelyingParty(card_app.test_client(), client_id, "https://rp.example/cb", secret=secret)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CONSENT_ITEM = re.compile(r'<input type="(?:hidden|checkbox)" name="item" value="([^"]+)"')


def logged_in(response) -> bool:
    """A login that succeeded goes on to the consent screen (idp.consent)."""
    return response.status_code == 303 and response.headers["Location"].startswith("/consent/")


def through_consent(http, response):
    """Approve everything the consent screen that follows a login shows (no card step: the
    login suites ask for nothing per-request); the relying party's redirect."""
    assert logged_in(response), (response.status_code, response.get_data(as_text=True))
    path = response.headers["Location"]
    html = http.get(path).get_data(as_text=True)
    form = {"csrf_token": CSRF.search(html).group(1), "action": "approve"}
    return http.post(path, data={**form, "item": CONSENT_ITEM.findall(html)})


@dataclass
class LoginPage:
    """The login page a browser reached from /authorize, and what its script would send."""

    http: object
    path: str
    csrf: str
    html: str

    def challenge(self) -> str:
        response = self.http.post(self.path + "/challenge", headers={"X-CSRF-Token": self.csrf})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json["challenge"]

    def post(self, result: str | None, csrf: str | None = "") -> object:
        form = {"csrf_token": self.csrf if csrf == "" else csrf, "result": result}
        return self.http.post(
            self.path + "/result", data={k: v for k, v in form.items() if v is not None}
        )


@pytest.fixture
def login_page(rp):
    """``login_page(**authorize_params)``: run /authorize and open the login page it leads to."""

    def open_page(**params) -> LoginPage:
        response = rp.authorize(**params)
        assert response.status_code == 303, response.get_data(as_text=True)
        path = response.headers["Location"]
        page = rp.http.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        return LoginPage(rp.http, path, CSRF.search(html).group(1), html)

    return open_page
