"""The sample bank against a real IdP, both served on loopback ports.

The IdP is a testing one: the test authenticator logs the browser in as ``test-account-1`` and
the testing consent screen approves every item (with a fixed verified identity), so the whole
OpenID Connect flow runs without a card. Its document verifier trusts a sandbox whose OCSP
responder is live, and ``sign`` answers the review page as the card would (the sandbox card's
own signing key), so the contract is really signed and the bank really verifies it. The
citizen's browser is a ``requests.Session`` (cookies: the bank's ``bank_session`` and the IdP's
``session`` share the host, as in the demo).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from examples.relying_party import create_app
from examples.relying_party.__main__ import add_command
from examples.relying_party.keys import PUBLIC_JWKS, client_key
from examples.relying_party.settings import BankSettings
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.documents.conftest import Card, bind_card, card_result, unb64url
from tests.login.cards import compile_catalogues
from tests.login.conftest import jpki_settings
from tests.oidc.live import serving

ACCOUNT = "test-account-1"
"""The test authenticator's account when no login_hint is given (the bank sends none)."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INCOME = {
    "fiscal_year": 2026, "income_year": 2025, "municipality": "東京都清瀬市", "taxable": True,
    "income": {"total": 6_000_000, "salary": 6_000_000}, "taxable_income": 4_200_000,
    "resident_tax": {"municipal": 252_000, "prefectural": 168_000, "total": 420_000},
}  # fmt: skip
HOUSEHOLD = {
    "address": "東京都清瀬市中里五丁目八四二番地", "head_of_household": "山田　花子",
    "members": [
        {"name": "山田　花子", "relationship": "head", "birthdate": "1985-04-12", "is_self": True},
        {"name": "山田　陽太", "relationship": "child", "birthdate": "2015-06-01",
         "is_self": False},
    ],
}  # fmt: skip


@dataclass
class World:
    state: SandboxState
    card: Card


@dataclass
class Idp:
    url: str
    app: object


@dataclass
class Bank:
    url: str
    app: object
    client_id: str
    settings: BankSettings


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = SandboxState.init(
        tmp_path_factory.mktemp("bank-world") / "state", f"http://127.0.0.1:{free_port()}"
    )
    card_id = state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123").id
    with running_server(state, port=None):
        card = Card(card_id, state.certificate(card_id, CertKind.SIGN),
                    state.private_key(card_id, CertKind.SIGN),
                    state.certificate(card_id, CertKind.AUTH),
                    state.private_key(card_id, CertKind.AUTH))  # fmt: skip
        yield World(state, card)


def import_selfinfo(app, account: str, records: dict[str, dict], folder: Path) -> None:
    """Load self-information for ``account`` with ``idp selfinfo import`` (the operator's way)."""
    from flask.testing import FlaskCliRunner

    from idp.selfinfo.cli import selfinfo_group as selfinfo
    from idp.storage.accounts import Account
    from idp.storage.db import db

    with app.app_context():
        if db.session.get(Account, account) is None:
            db.session.add(Account(id=account))
            db.session.commit()
    lines = [
        json.dumps({"account": account, "category": category, "data": data}, ensure_ascii=False)
        for category, data in records.items()
    ]
    path = folder / "selfinfo.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = FlaskCliRunner(app).invoke(selfinfo, ["import", str(path)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="package")
def idp(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    from tests.conftest import drop_schema, idp_test_config, make_app

    compile_catalogues()
    tmp = tmp_path_factory.mktemp("bank-idp")
    port = free_port()
    config = idp_test_config(
        f"sqlite:///{tmp}/idp.sqlite3",
        issuer=f"http://127.0.0.1:{port}",
        jpki=jpki_settings(world.state, tmp),
    )
    app = make_app(config, tmp / "instance", cardless_login=True)
    import_selfinfo(app, ACCOUNT, {"income": INCOME, "household": HOUSEHOLD}, tmp)
    bind_card(app, world.card, ACCOUNT)  # the card signs documents for this account (§9)
    try:
        with serving(app, port) as url:
            yield Idp(url, app)
    finally:
        drop_schema(app)


def register(idp: Idp, settings: BankSettings) -> str:
    """Register the bank with exactly the options ``register`` passes to ``idp client add``."""
    from click.testing import CliRunner

    from idp.oidc.cli import client_add

    client_key(settings.instance)
    args = add_command(settings, "idp")[3:]  # after "idp client add"
    assert str(settings.instance / PUBLIC_JWKS) in args
    with idp.app.app_context():
        result = CliRunner().invoke(client_add, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    client_id = json.loads(result.output.strip().splitlines()[-1])["client_id"]
    settings.client_file.write_text(json.dumps({"client_id": client_id}))
    return client_id


@pytest.fixture(scope="package")
def bank(idp: Idp, world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bank]:
    port = free_port()
    settings = BankSettings(
        issuer=idp.url,
        base_url=f"http://127.0.0.1:{port}",
        instance=tmp_path_factory.mktemp("bank-instance"),
        trust_roots=(world.state.root / "ca" / "sign" / "ca.pem",),  # the signing CA's root
    )
    client_id = register(idp, settings)
    app = create_app(settings)
    with serving(app, port) as url:
        yield Bank(url, app, client_id, settings)


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def csrf(html: str) -> str:
    return CSRF.search(html).group(1)


def apply(browser: requests.Session, bank: Bank) -> requests.Response:
    """Press "apply": PAR, the IdP (test login and consent), back to the application page."""
    start = browser.get(bank.url + "/")
    assert start.status_code == 200
    return browser.post(bank.url + "/apply", timeout=30)


def fetch_income(browser: requests.Session, bank: Bank, page: requests.Response):
    return browser.post(
        bank.url + "/application/income", data={"csrf_token": csrf(page.text)}, timeout=30
    )


def sign(browser: requests.Session, idp: Idp, card: Card, review: requests.Response):
    """What the IdP's review page does with the card: prepare, sign with the card, post."""
    assert review.url.startswith(idp.url + "/documents/"), review.url
    base = review.url.split("?")[0].removesuffix("/review")
    token = csrf(review.text)
    prepared = browser.post(base + "/prepare", headers={"X-CSRF-Token": token})
    assert prepared.status_code == 200, prepared.text
    digest = unb64url(prepared.json()["digest"])
    result = card_result(card, digest, origin=idp.url)
    return browser.post(base + "/result", data={"csrf_token": token, "result": result})


def session_data(bank: Bank, browser: requests.Session) -> dict:
    """What the bank holds in this browser's server-side session."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(bank.app)
    cookie = serializer.loads(browser.cookies["bank_session"])
    found = bank.app.extensions["bank.sessions"].get(cookie["id"])
    return found.data if found else {}
