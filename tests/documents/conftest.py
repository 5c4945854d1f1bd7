"""The document-signing world: a sandbox (signing CA, cards, live OCSP), a testing IdP whose login
is the test authenticator and whose document verifier trusts the sandbox, and a bank.

The citizen's browser is the Flask test client: it logs in through /authorize with the test
authenticator (``login_hint`` names the account), then reviews and signs. What the card would
answer is made with the sandbox card's own signing key (``card_result``), exactly as the bridge
returns it: the two-key answer of bridge-protocol.md §9, the signing key's document signature
with the same card's authentication key beside it. The citizen's account is bound to the good
card's authentication certificate (``bind_card``), as a card login would have bound it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from idp.jpki.signature import signed_value
from idp.oidc.server import SERVER
from idp.services import services
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import RunningServer, free_port, running_server
from sandbox.state import SandboxState
from tests.login.cards import ORIGIN, compile_catalogues
from tests.login.conftest import jpki_settings
from tests.oidc.rp import RelyingParty

ISSUER = ORIGIN
REDIRECT = "https://bank.example/contracts/done"
SIGN_PIN = "ABC123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Card:
    id: str
    certificate: x509.Certificate
    """The signing certificate."""
    key: rsa.RSAPrivateKey
    auth_certificate: x509.Certificate | None = None
    auth_key: rsa.RSAPrivateKey | None = None


@dataclass(frozen=True)
class World:
    state: SandboxState
    server: RunningServer
    good: Card
    revoked: Card
    on_hold: Card

    @property
    def signing_root(self) -> Path:
        return self.state.root / "ca" / "sign" / "ca.pem"

    def new_card(self) -> Card:
        """A card of its own, for a test that changes its certificate's status."""
        record = self.state.issue_card(SAMPLE_CITIZENS[1], "1234", SIGN_PIN)
        return _card(self.state, record.id)


def _card(state: SandboxState, card_id: str) -> Card:
    return Card(
        card_id,
        state.certificate(card_id, CertKind.SIGN),
        state.private_key(card_id, CertKind.SIGN),
        state.certificate(card_id, CertKind.AUTH),
        state.private_key(card_id, CertKind.AUTH),
    )


@pytest.fixture(scope="session", autouse=True)
def catalogues() -> None:
    compile_catalogues()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = SandboxState.init(
        tmp_path_factory.mktemp("documents") / "state", f"http://127.0.0.1:{free_port()}"
    )
    ids = [state.issue_card(SAMPLE_CITIZENS[i % 2], "1234", SIGN_PIN).id for i in range(3)]
    state.revoke(ids[1], CertKind.SIGN, "affiliationChanged")  # e.g. the holder moved
    state.hold(ids[2], CertKind.SIGN)
    with running_server(state, port=None) as server:
        yield World(state, server, *(_card(state, i) for i in ids))


@pytest.fixture
def app(world: World, database_url: str, tmp_path: Path):
    """A testing IdP (test authenticator) whose document verifier trusts the sandbox."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(
        database_url,
        jpki=jpki_settings(world.state, tmp_path),
    )
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


def register(app, name: str = "Sample Bank", auth_method: str = "client_secret_basic"):
    from joserfc.jwk import RSAKey

    from idp.oidc.clients import register_client

    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True) if (
        auth_method == "private_key_jwt") else None  # fmt: skip
    jwks = {"keys": [key.as_dict(private=False)]} if key else None
    with app.app_context():
        client, secret = register_client(name, [REDIRECT], auth_method, jwks=jwks)
        client_id = client.client_id
    return RelyingParty(app.test_client(), client_id, REDIRECT, secret=secret, key=key)


@dataclass
class Bank:
    """A service calling the document API, with its own citizen's browser (``rp.http``)."""

    app: object
    rp: RelyingParty

    def headers(self, form: dict) -> dict:
        headers: dict = {}
        self.rp.auth(form, headers, self.rp.assertion(aud=ISSUER + "/documents")
                     if self.rp.key else None)  # fmt: skip
        return headers

    def submit(self, **body) -> object:
        headers = self.headers(body)
        return self.app.test_client().post("/documents", json=body, headers=headers)

    def status(self, document_id: str, suffix: str = "") -> object:
        query: dict = {}
        headers = self.headers(query)
        return self.app.test_client().get(
            f"/documents/{document_id}{suffix}", query_string=query, headers=headers
        )

    def sub(self, account_id: str) -> str:
        from idp.oidc.clients import find_client

        with self.app.app_context():
            client = find_client(self.rp.client_id)
            return services(self.app)[SERVER].services.subjects.for_client(account_id, client)

    def document(self, account_id: str = "citizen-1", **changes) -> dict:
        """Submit a digest-only document for ``account_id``; the 201 body."""
        body = {
            "sub": self.sub(account_id),
            "title": "住宅ローン金銭消費貸借契約書",
            "summary": "借入額 3,000万円、期間 35年、固定金利 1.8%。\nLoan: 30,000,000 JPY.",
            "digest": b64url(hashlib.sha256(CONTRACT).digest()),
            "redirect_uri": REDIRECT,
            "state": "s-123",
        }
        body.update(changes)
        response = self.submit(**{k: v for k, v in body.items() if v is not None})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json


CONTRACT = "住宅ローン金銭消費貸借契約書\n借入額 30,000,000 円、期間 35 年。\n".encode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_account(app, account_id: str) -> None:
    from idp.storage.accounts import Account
    from idp.storage.db import db

    with app.app_context():
        if db.session.get(Account, account_id) is None:
            db.session.add(Account(id=account_id))
            db.session.commit()


def bind_card(app, card: Card, account_id: str = "citizen-1") -> None:
    """Bind ``card``'s authentication certificate to ``account_id``, as its first card login
    would: the double proof of a signature must come from the account's own card."""
    from idp.storage.accounts import CertificateBinding
    from idp.storage.db import db

    make_account(app, account_id)
    certificate = card.auth_certificate
    with app.app_context():
        db.session.add(CertificateBinding(
            account_id=account_id,
            issuer_hash=hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
            serial=f"{certificate.serial_number:X}",
            not_after=int(certificate.not_valid_after_utc.timestamp()),
        ))  # fmt: skip
        db.session.commit()


def log_in(rp: RelyingParty, account_id: str) -> None:
    """The citizen's browser gets an IdP session as ``account_id`` (test authenticator)."""
    rp.login_code(login_hint=account_id)


@pytest.fixture
def bank(app, world) -> Bank:
    bank = Bank(app, register(app))
    bind_card(app, world.good, "citizen-1")
    log_in(bank.rp, "citizen-1")
    return bank


def card_result(card: Card, digest: bytes, *, origin: str = ORIGIN, signed: bytes | None = None,
                auth: Card | None = None, auth_signed: bytes | None = None,
                **changes) -> str:  # fmt: skip
    """The bridge's two-key ``document`` result (§9): the card's PKCS#1 v1.5 signature of
    DigestInfo(``signed`` or ``digest``), and the authentication key of ``auth`` (by default the
    same card) over SHA-256(origin) ‖ SHA-256(``auth_signed`` or ``digest``)."""
    auth = auth or card
    signature = card.key.sign(signed or digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    bound = hashlib.sha256(signed_value(origin, auth_signed or digest)).digest()
    auth_signature = auth.auth_key.sign(bound, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    der = serialization.Encoding.DER
    result = {
        "version": 2, "purpose": "document", "origin": origin, "digest": b64url(digest),
        "certificate": b64url(card.certificate.public_bytes(der)),
        "signature": b64url(signature),
        "authentication_certificate": b64url(auth.auth_certificate.public_bytes(der)),
        "authentication_signature": b64url(auth_signature),
        "algorithm": "RS256", "format": "jpki-sha256-digest-pair-v2",
    }  # fmt: skip
    result.update(changes)
    return json.dumps({k: v for k, v in result.items() if v is not None})


def one_key_result(card: Card, digest: bytes, origin: str = ORIGIN) -> str:
    """What a bridge of protocol version 1 answers: the signing key's signature alone (§8)."""
    signature = card.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    return json.dumps({
        "version": 1, "purpose": "document", "origin": origin, "digest": b64url(digest),
        "certificate": b64url(card.certificate.public_bytes(serialization.Encoding.DER)),
        "signature": b64url(signature), "algorithm": "RS256", "format": "jpki-sha256-digest-v1",
    })  # fmt: skip


@dataclass
class ReviewPage:
    """The review page a citizen's browser opened, and what its script would send."""

    http: object
    document_id: str
    csrf: str
    html: str

    @property
    def base(self) -> str:
        return f"/documents/{self.document_id}"

    def prepare(self, csrf: str | None = None) -> object:
        return self.http.post(self.base + "/prepare", headers={"X-CSRF-Token": csrf or self.csrf})

    def to_sign(self) -> bytes:
        response = self.prepare()
        assert response.status_code == 200, response.get_data(as_text=True)
        return unb64url(response.json["digest"])

    def post_result(self, result: str, csrf: str | None = None) -> object:
        return self.http.post(
            self.base + "/result", data={"csrf_token": csrf or self.csrf, "result": result}
        )

    def sign(self, card: Card) -> object:
        return self.post_result(card_result(card, self.to_sign()))

    def decline(self) -> object:
        return self.http.post(self.base + "/decline", data={"csrf_token": self.csrf})


def open_review(http, document_id: str) -> ReviewPage:
    response = http.get(f"/documents/{document_id}/review")
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    return ReviewPage(http, document_id, CSRF.search(html).group(1), html)


def sample_pdf(text: str = "Loan contract") -> bytes:
    """A one-page PDF written with pyHanko's writer (no binary fixtures)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    name = generic.NameObject
    writer = PdfFileWriter()
    content = writer.add_object(
        generic.StreamObject(stream_data=f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    )
    font = generic.DictionaryObject(
        {name("/Type"): name("/Font"), name("/Subtype"): name("/Type1"),
         name("/BaseFont"): name("/Helvetica")}
    )  # fmt: skip
    page = generic.DictionaryObject(
        {
            name("/Type"): name("/Page"),
            name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 595, 842)]
            ),
            name("/Contents"): content,
            name("/Resources"): generic.DictionaryObject(
                {name("/Font"): generic.DictionaryObject({name("/F1"): font})}
            ),
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
