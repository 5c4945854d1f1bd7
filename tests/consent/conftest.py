"""The consent screen's world: the card login's (tests/login/conftest.py: a sandbox with live
OCSP, sandbox cards, a card-login IdP) and a browser that has logged in with the good card and
reached the consent screen.

``consent_page(**authorize_params)`` runs /authorize, logs in with the good card and opens the
consent page it leads to; its methods post what the page's form and script would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.oidc.claims import SELFINFO_SCOPES
from sandbox.profiles import CertKind
from tests.login.cards import bridge_result, pair_result
from tests.login.conftest import (  # noqa: F401 (fixtures shared with the login suite)
    CSRF,
    Card,
    card_app,
    catalogues,
    database_url,
    login_page,
    world,
)
from tests.oidc.rp import RelyingParty

PURPOSE = "mortgage screening"
RETENTION_DAYS = 30
SCOPES = " ".join(("openid", *SELFINFO_SCOPES))
CONSENT_PATH = re.compile(r"^/consent/[A-Za-z0-9_-]{20,64}$")
CHECKBOX = re.compile(r'<input type="checkbox" name="item" value="([^"]+)"')
HIDDEN_ITEM = re.compile(r'<input type="hidden" name="item" value="([^"]+)"')


def signing_card(world, card: Card) -> Card:  # noqa: F811 (not the fixture)
    """The signing certificate and key of the card whose authentication certificate is
    ``card``'s: the same person's signing key."""
    for card_id in world.state.card_ids():
        if world.state.certificate(card_id, CertKind.AUTH) == card.certificate:
            return Card(
                world.state.certificate(card_id, CertKind.SIGN),
                world.state.private_key(card_id, CertKind.SIGN),
            )
    raise LookupError("no such card in the sandbox")


def card_result(
    certificate: x509.Certificate, key: rsa.RSAPrivateKey, challenge: str, purpose: str
) -> str:
    return bridge_result(certificate, key, challenge, purpose=purpose)


def identity_result(world, card: Card, challenge: str, signer: Card | None = None,  # noqa: F811
                    **changes) -> str:  # fmt: skip
    """The bridge's two-key answer (version 2): ``card``'s authentication key and the signing
    key of ``signer`` (by default the same card's) over ``challenge``."""
    signer = signer or signing_card(world, card)
    return pair_result(card.certificate, card.key, signer.certificate, signer.key, challenge,
                       **changes)  # fmt: skip


@dataclass
class ConsentPage:
    """The consent page a browser reached after its card login."""

    http: object
    path: str
    csrf: str
    html: str

    @property
    def transaction(self) -> str:
        return self.path.rsplit("/", 1)[1]

    def optional(self) -> list[str]:
        return CHECKBOX.findall(self.html)

    def required(self) -> list[str]:
        return HIDDEN_ITEM.findall(self.html)

    def everything(self) -> list[str]:
        return self.required() + self.optional()

    def decide(self, action: str, items: list[str] | None = None, csrf: str | None = ""):
        form = {"action": action, "item": self.everything() if items is None else items}
        if csrf is not None:
            form["csrf_token"] = self.csrf if csrf == "" else csrf
        return self.http.post(self.path, data=form)

    def challenge(self, items: list[str] | None = None, csrf: str | None = ""):
        headers = {} if csrf is None else {"X-CSRF-Token": self.csrf if csrf == "" else csrf}
        form = {"item": self.everything() if items is None else items}
        return self.http.post(self.path + "/challenge", data=form, headers=headers)

    def approve(self, result: str | None, items: list[str] | None = None, csrf: str | None = ""):
        form: dict = {"item": self.everything() if items is None else items}
        if result is not None:
            form["result"] = result
        if csrf is not None:
            form["csrf_token"] = self.csrf if csrf == "" else csrf
        return self.http.post(self.path + "/approve", data=form)

    def step_up(self, card: Card, items: list[str] | None = None, purpose: str = "login"):
        """The whole card step as the script runs it: challenge, card, approve."""
        issued = self.challenge(items)
        assert issued.status_code == 200, issued.get_data(as_text=True)
        result = card_result(card.certificate, card.key, issued.json["challenge"], purpose)
        return self.approve(result, items)

    def identify(self, sandbox, card: Card, items: list[str] | None = None,
                 signer: Card | None = None):  # fmt: skip
        """The identity card step as the script runs it: challenge, both keys, approve."""
        issued = self.challenge(items)
        assert issued.status_code == 200, issued.get_data(as_text=True)
        assert issued.json["key"] == "sign"
        result = identity_result(sandbox, card, issued.json["challenge"], signer)
        return self.approve(result, items)


def open_consent(http, response) -> ConsentPage:
    """Follow a redirect to the consent screen and read the page."""
    assert response.status_code == 303, response.get_data(as_text=True)
    path = response.headers["Location"]
    assert CONSENT_PATH.match(path), path
    page = http.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    return ConsentPage(http, path, CSRF.search(html).group(1), html)


@pytest.fixture
def rp(card_app):  # noqa: F811
    """A relying party registered at the card-login IdP with a purpose and a retention period,
    allowed the self-information scopes, visiting it with one browser."""
    from idp.oidc.clients import register_client
    from idp.storage.db import db

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank",
            ["https://rp.example/cb"],
            "client_secret_basic",
            trust_framework="jp_aml",
            purpose=PURPOSE,
            retention_days=RETENTION_DAYS,
        )
        # The client's own list; Authlib drops any other scope.
        client.set_client_metadata({**client.client_metadata, "scope": SCOPES})
        db.session.commit()
        client_id = client.client_id
    return RelyingParty(card_app.test_client(), client_id, "https://rp.example/cb", secret=secret)


@pytest.fixture
def logged_in(login_page, world):  # noqa: F811
    """``logged_in(**authorize_params)``: /authorize, then a card login with the good card;
    returns the response of the login (the consent screen's redirect, or the code's)."""

    def log_in(card: Card | None = None, **params):
        page = login_page(**params)
        result = bridge_result((card or world.good).certificate, (card or world.good).key,
                               page.challenge())  # fmt: skip
        return page.http, page.post(result)

    return log_in


@pytest.fixture
def consent_page(logged_in):
    """``consent_page(**authorize_params)``: the consent screen after a good card login."""

    def open_page(**params) -> ConsentPage:
        http, response = logged_in(**params)
        return open_consent(http, response)

    return open_page
