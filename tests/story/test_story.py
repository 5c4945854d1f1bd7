"""The IdP's main stories over HTTP, recorded and held to a transcript made before the code was
reshaped: the same requests must get the same answers (status, content type, behaviour headers,
redirect targets, JSON members and error codes, pages' titles and forms), whatever the modules
behind them are called.

One bank registers over HTTP (RFC 7591) as a FAPI 2.0 client would: private_key_jwt, PAR and
DPoP. A citizen logs in with a sandbox card through the real login page and consent screen (the
card's answers are made with its keys, as the bridge returns them), the bank redeems the code,
reads userinfo and self-information, refreshes, asks for a contract signature, the citizen
withdraws consent on the account page, and the bank revokes and logs out; along the way, the
answers to the usual mistakes.

The transcript is ``transcript.json`` beside this file. After a deliberate change of behaviour,
write it anew with ``STORY_WRITE=1 script/test tests/story`` and review its diff.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port, running_server
from sandbox.state import SandboxState
from tests.conftest import REGISTRATION_TOKEN, drop_schema, idp_test_config, make_app
from tests.documents.conftest import Card, card_result, sample_pdf
from tests.login.cards import ORIGIN, bridge_result, compile_catalogues, pair_result
from tests.login.conftest import jpki_settings
from tests.oidc.rp import dpop_proof, pkce_pair, query
from tests.selfinfo.samples import SAMPLES, store
from tests.story.transcript import Transcript, shape

GOLDEN = Path(__file__).with_name("transcript.json")
ISSUER = ORIGIN
REDIRECT = "https://bank.example/cb"
LOGGED_OUT = "https://bank.example/logged-out"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ITEM = re.compile(r'<input type="(?:hidden|checkbox)" name="item" value="([^"]+)"')
CONSENT_LINK = re.compile(r"/account/consents/([A-Za-z0-9_-]+)/revoke")
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Browser:
    """A Flask test client whose every exchange goes into the transcript."""

    def __init__(self, app, transcript: Transcript) -> None:
        self.http, self.transcript = app.test_client(), transcript

    def get(self, path: str, note: str = "", **kwargs):
        response = self.http.get(path, **kwargs)
        self.transcript.record("GET", _with_query(path, kwargs), response, note)
        return response

    def post(self, path: str, note: str = "", **kwargs):
        response = self.http.post(path, **kwargs)
        self.transcript.record("POST", _with_query(path, kwargs), response, note)
        return response


def _with_query(path: str, kwargs: dict) -> str:
    params = kwargs.get("query_string")
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@dataclass
class Bank:
    """The relying party: its registration, keys and a back-channel (its own test client)."""

    api: Browser
    client_id: str
    key: RSAKey
    dpop: ECKey

    def assertion(self, audience: str = ISSUER) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
        }
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def auth(self, form: dict, audience: str = ISSUER) -> dict:
        return {
            **form,
            "client_assertion_type": ASSERTION,
            "client_assertion": self.assertion(audience),
        }

    def proof(self, method: str, path: str, nonce: str | None = None, token: str | None = None):
        ath = None
        if token:
            ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest())
            ath = ath.rstrip(b"=").decode()
        return dpop_proof(self.dpop, method, ISSUER + path, nonce=nonce, ath=ath)

    def dpop_post(self, path: str, form: dict, note: str = ""):
        """POST ``form`` with client authentication and a DPoP proof, once more with the
        server's nonce if it asks for one."""
        response = self.api.post(
            path, note, data=self.auth(form), headers={"DPoP": self.proof("POST", path)}
        )
        if response.status_code == 400 and response.json.get("error") == "use_dpop_nonce":
            nonce = response.headers["DPoP-Nonce"]
            response = self.api.post(
                path,
                note + " with nonce",
                data=self.auth(form),
                headers={"DPoP": self.proof("POST", path, nonce)},
            )
        return response

    def token_call(self, form: dict, note: str = ""):
        return self.dpop_post("/token", form, note)

    def resource(self, path: str, token: str, note: str = ""):
        """GET a DPoP-protected resource, once more with the server's nonce if it asks."""
        headers = {"Authorization": "DPoP " + token, "DPoP": self.proof("GET", path, token=token)}
        response = self.api.get(path, note, headers=headers)
        if "DPoP-Nonce" in response.headers and response.status_code == 401:
            nonce = response.headers["DPoP-Nonce"]
            headers["DPoP"] = self.proof("GET", path, nonce, token)
            response = self.api.get(path, note + " with nonce", headers=headers)
        return response


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    compile_catalogues()
    state = SandboxState.init(
        tmp_path_factory.mktemp("story") / "state", f"http://127.0.0.1:{free_port()}"
    )
    good = state.issue_card(SAMPLE_CITIZENS[0], "1234", "ABC123").id
    revoked = state.issue_card(SAMPLE_CITIZENS[1], "1234", "ABC123").id
    state.revoke(revoked, CertKind.AUTH, "keyCompromise")
    with running_server(state, port=None):
        yield state, _card(state, good), _card(state, revoked)


def _card(state: SandboxState, card_id: str) -> Card:
    return Card(
        card_id,
        state.certificate(card_id, CertKind.SIGN),
        state.private_key(card_id, CertKind.SIGN),
        state.certificate(card_id, CertKind.AUTH),
        state.private_key(card_id, CertKind.AUTH),
    )


@pytest.fixture
def app(sandbox, tmp_path):
    from idp.config import AdminConfig

    config = idp_test_config(
        f"sqlite:///{tmp_path}/idp.sqlite3",
        admin=AdminConfig(registration_token=REGISTRATION_TOKEN),
        jpki=jpki_settings(sandbox[0], tmp_path),
    )
    application = make_app(config, tmp_path / "instance")
    yield application
    drop_schema(application)


def test_the_stories_answer_as_they_did_before(app, sandbox):
    transcript = Transcript()
    _, card, revoked = sandbox
    story = Story(app, transcript, card, revoked)
    story.run()
    text = transcript.dumps()
    if os.environ.get("STORY_WRITE"):
        GOLDEN.write_text(text, encoding="utf-8")
    golden = GOLDEN.read_text(encoding="utf-8")
    diff = difflib.unified_diff(
        golden.splitlines(), text.splitlines(), "before", "now", lineterm=""
    )
    assert text == golden, "\n".join(diff)


class Story:
    def __init__(self, app, transcript: Transcript, card: Card, revoked: Card) -> None:
        self.app, self.t, self.card, self.revoked = app, transcript, card, revoked
        self.api = Browser(app, transcript)
        self.citizen = Browser(app, transcript)

    def step(self, name: str) -> None:
        self.t.step = name

    def run(self) -> None:
        self.discovery()
        bank = self.registration()
        tokens = self.login(bank)
        self.tokens_in_use(bank, tokens)
        refreshed = self.refresh(bank, tokens)
        self.documents(bank, tokens)
        self.account(bank, refreshed)
        self.revocation_and_logout(bank, {**refreshed, "id_token": tokens["id_token"]})
        self.step("token")
        bank.token_call(self.used_code, "the first code again, after logout")
        self.refused_login(bank)
        self.identity(bank)

    def discovery(self) -> None:
        self.step("discovery")
        self.api.get("/.well-known/openid-configuration")
        self.api.get("/.well-known/oauth-authorization-server")
        self.api.get("/jwks")
        self.api.get("/.well-known/nothing-here")

    def registration(self) -> Bank:
        self.step("registration")
        key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
        body = {
            "client_name": "Sample Bank",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
            "require_pushed_authorization_requests": True,
            "dpop_bound_access_tokens": True,
            "post_logout_redirect_uris": [LOGGED_OUT],
            "trust_framework": "jp_aml",
            "purpose": "mortgage screening",
            "retention_days": 30,
            "id_token_signed_response_alg": "PS256",
        }
        admin = {"Authorization": "Bearer " + REGISTRATION_TOKEN}
        self.api.post("/register", "no initial access token", json=body)
        self.api.post(
            "/register",
            "plain http redirect",
            headers=admin,
            json={**body, "redirect_uris": ["http://evil.example/cb"]},
        )
        self.api.post("/register", "not JSON", headers=admin, data="client_name=x")
        response = self.api.post("/register", headers=admin, json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        dpop = ECKey.generate_key("P-256", auto_kid=True)
        return Bank(self.api, response.json["client_id"], key, dpop)

    def authorization(self, bank: Bank, **changes) -> dict:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": bank.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid selfinfo:income",
            "state": "state-1",
            "nonce": "nonce-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "dpop_jkt": bank.dpop.thumbprint(),
            **changes,
        }
        return {"verifier": verifier, "params": {k: v for k, v in params.items() if v is not None}}

    def push(self, bank: Bank, note: str = "", **changes) -> tuple[str, str]:
        request = self.authorization(bank, **changes)
        return bank.dpop_post("/par", request["params"], note), request["verifier"]

    def login(self, bank: Bank) -> dict:
        self.step("pushed authorization request")
        self.push(bank, "unknown scope", scope="openid bogus")
        self.push(bank, "unregistered redirect", redirect_uri="https://bank.example/other")
        self.push(bank, "no PKCE", code_challenge=None, code_challenge_method=None)
        self.api.post("/par", "no client authentication", data={"client_id": bank.client_id})
        pushed, verifier = self.push(bank)
        assert pushed.status_code == 201, pushed.get_data(as_text=True)

        self.step("authorize")
        self.citizen.get(
            "/authorize", "without PAR", query_string={**self.authorization(bank)["params"]}
        )
        self.citizen.get(
            "/authorize",
            "unknown client",
            query_string={"client_id": "nobody", "request_uri": pushed.json["request_uri"]},
        )
        response = self.citizen.get(
            "/authorize",
            query_string={"client_id": bank.client_id, "request_uri": pushed.json["request_uri"]},
        )
        assert response.status_code == 303, response.get_data(as_text=True)

        self.step("card login")
        login = response.headers["Location"]
        page = self.citizen.get(login)
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        self.citizen.post(login + "/challenge", "no CSRF token")
        issued = self.citizen.post(login + "/challenge", headers={"X-CSRF-Token": csrf})
        challenge = issued.json["challenge"]
        result = bridge_result(
            self.card.auth_certificate, self.card.auth_key, challenge, origin="https://evil.example"
        )
        self.citizen.post(
            login + "/result", "another origin", data={"csrf_token": csrf, "result": result}
        )
        issued = self.citizen.post(login + "/challenge", headers={"X-CSRF-Token": csrf})
        result = bridge_result(
            self.card.auth_certificate, self.card.auth_key, issued.json["challenge"]
        )
        response = self.citizen.post(login + "/result", data={"csrf_token": csrf, "result": result})
        assert response.status_code == 303, response.get_data(as_text=True)

        self.step("consent")
        code = self.consent(response.headers["Location"], errors=True)

        self.step("token")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        response = bank.token_call(form)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.api.post("/token", "no DPoP proof", data=bank.auth({**form, "code": "y" * 43}))
        bank.token_call({**form, "code": "x" * 43}, "unknown code")
        self.used_code = form
        tokens = response.json
        claims = self.id_token_claims(tokens["id_token"])
        self.t.entries.append({"step": "id token claims", "claims": shape(claims)})
        return tokens

    def consent(self, consent: str, errors: bool = False) -> str:
        """Approve everything on the consent screen with the card step it asks for; the code."""
        page = self.citizen.get(consent)
        html = page.get_data(as_text=True)
        csrf, items = CSRF.search(html).group(1), ITEM.findall(html)
        if errors:
            self.citizen.post(consent + "/challenge", "no CSRF token", data={"item": items})
        issued = self.citizen.post(
            consent + "/challenge", data={"item": items}, headers={"X-CSRF-Token": csrf}
        )
        assert issued.status_code == 200, issued.get_data(as_text=True)
        card, challenge = self.card, issued.json["challenge"]
        if issued.json.get("key") == "sign":
            result = pair_result(
                card.auth_certificate, card.auth_key, card.certificate, card.key, challenge
            )
        else:
            result = bridge_result(card.auth_certificate, card.auth_key, challenge)
        response = self.citizen.post(
            consent + "/approve", data={"csrf_token": csrf, "item": items, "result": result}
        )
        assert response.status_code in (302, 303), response.get_data(as_text=True)
        return query(response.headers["Location"])["code"]

    def id_token_claims(self, id_token: str) -> dict:
        keys = KeySet.import_key_set(self.app.test_client().get("/jwks").json)
        return jwt.decode(id_token, keys, algorithms=["PS256"]).claims

    def tokens_in_use(self, bank: Bank, tokens: dict) -> None:
        self.step("userinfo")
        token = tokens["access_token"]
        bank.resource("/userinfo", token)
        self.api.get("/userinfo", "as a bearer token", headers={"Authorization": "Bearer " + token})
        self.api.get("/userinfo", "no token")
        bank.resource("/userinfo", "x" * 40, "not a token")

        self.step("self-information")
        account = self.account_id()
        for category in SAMPLES:
            store(self.app, account, category)
        bank.resource("/selfinfo/v1/income", token)
        bank.resource("/selfinfo/v1/pension", token, "not granted")
        bank.resource("/selfinfo/v1/nothing", token, "unknown category")
        self.api.get("/selfinfo/v1/schemas/income.json")

        self.step("introspection")
        self.api.post("/introspect", data=bank.auth({"token": token}))
        self.api.post("/introspect", "no client authentication", data={"token": token})

    def account_id(self) -> str:
        from idp.storage.accounts import Account
        from idp.storage.db import db

        with self.app.app_context():
            (account,) = db.session.execute(db.select(Account.id)).scalars()
            return account

    def refresh(self, bank: Bank, tokens: dict) -> dict:
        self.step("refresh")
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        response = bank.token_call(form)
        assert response.status_code == 200, response.get_data(as_text=True)
        bank.token_call(form, "the same refresh token again, as after a lost answer")
        return response.json

    def documents(self, bank: Bank, tokens: dict) -> None:
        self.step("document signing")
        sub = self.id_token_claims(tokens["id_token"])["sub"]
        document = {
            "sub": sub,
            "title": "住宅ローン金銭消費貸借契約書",
            "summary": "借入額 3,000万円、期間 35年。",
            "pdf": base64.b64encode(sample_pdf()).decode(),
            "redirect_uri": REDIRECT,
            "state": "s-1",
        }
        audience = ISSUER + "/documents"
        self.api.post("/documents", "no client authentication", json=document)
        self.api.post(
            "/documents", "unknown member", json=bank.auth({**document, "x": 1}, audience)
        )
        response = self.api.post("/documents", json=bank.auth(document, audience))
        assert response.status_code == 201, response.get_data(as_text=True)
        document_id = response.json["document_id"]
        base = f"/documents/{document_id}"
        page = self.citizen.get(base + "/review")
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        self.citizen.get(base + "/document.pdf")
        self.citizen.get(base + "/preview.png")
        self.citizen.post(base + "/prepare", "no CSRF token")
        prepared = self.citizen.post(base + "/prepare", headers={"X-CSRF-Token": csrf})
        digest = base64.urlsafe_b64decode(prepared.json["digest"] + "==")
        self.citizen.post(
            base + "/result",
            "signed by another card's key",
            data={"csrf_token": csrf, "result": card_result(self.revoked, digest)},
        )
        prepared = self.citizen.post(base + "/prepare", headers={"X-CSRF-Token": csrf})
        digest = base64.urlsafe_b64decode(prepared.json["digest"] + "==")
        response = self.citizen.post(
            base + "/result", data={"csrf_token": csrf, "result": card_result(self.card, digest)}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        status = {"client_assertion_type": ASSERTION}
        self.api.get(base, query_string={**status, "client_assertion": bank.assertion(audience)})
        self.api.get(
            base + "/signed.pdf",
            query_string={**status, "client_assertion": bank.assertion(audience)},
        )
        self.api.get(
            "/documents/" + "A" * 43,
            "unknown document",
            query_string={**status, "client_assertion": bank.assertion(audience)},
        )
        self.api.get(base, "no client authentication")

    def account(self, bank: Bank, tokens: dict) -> None:
        self.step("account page")
        self.citizen.get("/account", query_string={"lang": "en"})
        page = self.citizen.get("/account", query_string={"lang": "ja"})
        html = page.get_data(as_text=True)
        consent_id = CONSENT_LINK.search(html).group(1)
        csrf = CSRF.search(html).group(1)

        self.step("consent withdrawal")
        revoke = f"/account/consents/{consent_id}/revoke"
        page = self.citizen.get(revoke)
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        self.citizen.post(revoke, "no CSRF token")
        response = self.citizen.post(revoke, data={"csrf_token": csrf})
        self.citizen.get(response.headers["Location"])
        bank.resource("/selfinfo/v1/income", tokens["access_token"], "after withdrawal")
        bank.resource("/userinfo", tokens["access_token"], "after withdrawal")
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        bank.token_call(form, "refresh after withdrawal")

    def revocation_and_logout(self, bank: Bank, tokens: dict) -> None:
        self.step("revocation")
        self.api.post("/revoke", data=bank.auth({"token": tokens["access_token"]}))
        self.api.post("/revoke", "no client authentication", data={"token": "x"})

        self.step("logout")
        self.citizen.get(
            "/logout",
            "unregistered redirect",
            query_string={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://evil.example/",
            },
        )
        self.citizen.get(
            "/logout",
            query_string={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": LOGGED_OUT,
                "state": "bye",
            },
        )
        self.citizen.get("/account", "signed out")
        csrf_page = self.citizen.get("/account/signed-out")
        del csrf_page

    def refused_login(self, bank: Bank) -> None:
        self.step("refused card login")
        pushed, _ = self.push(bank)
        response = self.citizen.get(
            "/authorize",
            query_string={"client_id": bank.client_id, "request_uri": pushed.json["request_uri"]},
        )
        login = response.headers["Location"]
        page = self.citizen.get(login)
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        issued = self.citizen.post(login + "/challenge", headers={"X-CSRF-Token": csrf})
        result = bridge_result(
            self.revoked.auth_certificate, self.revoked.auth_key, issued.json["challenge"]
        )
        response = self.citizen.post(
            login + "/result", "revoked certificate", data={"csrf_token": csrf, "result": result}
        )
        if response.status_code in (302, 303):
            self.citizen.get(response.headers["Location"])
        self.citizen.post(login + "/cancel", data={"csrf_token": csrf})
        self.citizen.post(
            login + "/result",
            "malformed result",
            data={"csrf_token": csrf, "result": json.dumps({"version": 1})},
        )

    def identity(self, bank: Bank) -> None:
        """A second visit: the bank asks for the verified name and birthdate (eKYC), the
        citizen logs in and signs the consent with both keys."""
        self.step("verified identity")
        request = {"trust_framework": None, "time": None}
        claims = {"verification": request, "claims": {"name": None, "birthdate": None}}
        wanted = json.dumps({"userinfo": {"verified_claims": claims}})
        pushed, verifier = self.push(bank, claims=wanted, scope="openid")
        assert pushed.status_code == 201, pushed.get_data(as_text=True)
        response = self.citizen.get(
            "/authorize",
            query_string={"client_id": bank.client_id, "request_uri": pushed.json["request_uri"]},
        )
        login = response.headers["Location"]
        page = self.citizen.get(login)
        csrf = CSRF.search(page.get_data(as_text=True)).group(1)
        issued = self.citizen.post(login + "/challenge", headers={"X-CSRF-Token": csrf})
        result = bridge_result(
            self.card.auth_certificate, self.card.auth_key, issued.json["challenge"]
        )
        response = self.citizen.post(login + "/result", data={"csrf_token": csrf, "result": result})
        assert response.status_code == 303, response.get_data(as_text=True)
        code = self.consent(response.headers["Location"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        response = bank.token_call(form)
        assert response.status_code == 200, response.get_data(as_text=True)
        bank.resource("/userinfo", response.json["access_token"])
