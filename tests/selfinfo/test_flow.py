"""The self-information API after a real authorization-code flow (PKCE, consent, tokens).

The testing authenticator logs in the account named by ``login_hint``; the testing consent
screen approves every requested item (``tests.cardless``). Tokens then come from /token as
a service gets them, with the account and the consent in their grant record.
"""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from idp.consent.withdrawal import revoke_consent
from idp.oidc.dpop import access_token_hash
from idp.oidc.server import SERVER
from idp.services import services
from idp.storage.consents import AccessRecord, Consent
from idp.storage.db import db
from tests.oidc.rp import ISSUER, TOKEN_URL, RelyingParty, dpop_proof
from tests.selfinfo.samples import SAMPLES, make_account, store

CITIZEN = "citizen-with-data"


@pytest.fixture
def citizen(app):
    make_account(app, CITIZEN)
    for category in SAMPLES:
        store(app, CITIZEN, category)
    return CITIZEN


@pytest.fixture
def rp(app, http):
    from idp.oidc.clients import register_client

    with app.app_context():
        client, secret = register_client("Bank", ["https://rp.example/cb"], "client_secret_basic")
        client_id = client.client_id
    return RelyingParty(http, client_id, "https://rp.example/cb", secret=secret)


def _tokens(rp, scope: str, **extra) -> dict:
    return rp.tokens(scope=scope, login_hint=CITIZEN, **extra)


def _get(rp, category: str, token: str, scheme="Bearer", **headers):
    headers = {"Authorization": f"{scheme} {token}", **headers}
    return rp.http.get(f"/selfinfo/v1/{category}", headers=headers)


def _reads(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        query = db.select(AccessRecord).filter_by(kind="selfinfo").order_by(AccessRecord.id)
        return [(r.account_id, r.item, r.consent_id) for r in db.session.execute(query).scalars()]


def _consents(app) -> list[Consent]:
    with app.app_context():
        return list(db.session.execute(db.select(Consent).order_by(Consent.created_at)).scalars())


def _sub(http, id_token: str) -> str:
    keys = KeySet.import_key_set(http.get("/jwks").json)
    return jwt.decode(id_token, keys).claims["sub"]


def test_granted_categories_are_read_with_the_id_tokens_sub(app, rp, citizen):
    tokens = _tokens(rp, "openid selfinfo:income selfinfo:pension")
    assert set(tokens["scope"].split()) == {"openid", "selfinfo:income", "selfinfo:pension"}
    for category in ("income", "pension"):
        response = _get(rp, category, tokens["access_token"])
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["data"] == SAMPLES[category]
        assert response.json["sub"] == _sub(rp.http, tokens["id_token"])
        assert response.json["sub"] != citizen
    (consent,) = _consents(app)
    assert consent.account_id == citizen
    assert {"selfinfo:income", "selfinfo:pension"} <= set(consent.granted())
    assert _reads(app) == [
        (citizen, "selfinfo:income", consent.id),
        (citizen, "selfinfo:pension", consent.id),
    ]


@pytest.mark.parametrize("category", ["household", "health_insurance", "child_benefit"])
def test_a_category_not_asked_for_is_403(app, rp, citizen, category):
    token = _tokens(rp, "openid selfinfo:income")["access_token"]
    response = _get(rp, category, token)
    assert response.status_code == 403
    assert f'scope="selfinfo:{category}"' in response.headers["WWW-Authenticate"]
    assert _reads(app) == []


def test_a_token_without_any_self_information_scope_is_403(rp, citizen):
    token = _tokens(rp, "openid")["access_token"]
    assert _get(rp, "income", token).status_code == 403


def test_revoked_consent_refuses_the_next_read_with_the_same_token(app, rp, citizen):
    token = _tokens(rp, "openid selfinfo:income")["access_token"]
    assert _get(rp, "income", token).status_code == 200
    (consent,) = _consents(app)
    with app.app_context():
        db.session.get(Consent, consent.id).revoked_at = int(time.time())
        db.session.commit()
    response = _get(rp, "income", token)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert "withdrawn" in response.json["error_description"]
    assert len(_reads(app)) == 1


def test_withdrawal_by_the_citizen_stops_access_tokens_and_refresh(app, rp, citizen):
    tokens = _tokens(rp, "openid selfinfo:income")
    assert _get(rp, "income", tokens["access_token"]).status_code == 200
    (consent,) = _consents(app)
    with app.app_context():
        shared = services(app)[SERVER].services
        revoke_consent(shared, db.session.get(Consent, consent.id), int(time.time()))
    assert _get(rp, "income", tokens["access_token"]).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    assert rp.http.post("/token", data=form, headers=headers).status_code == 400


def test_a_new_authorization_asks_again_and_reads_under_the_new_consent(app, rp, citizen):
    first = _tokens(rp, "openid selfinfo:income")["access_token"]
    second = _tokens(rp, "openid selfinfo:income")["access_token"]
    consents = _consents(app)
    assert len(consents) == 2  # self-information is approved per request, never remembered
    assert _get(rp, "income", second).status_code == 200
    assert _get(rp, "income", first).status_code == 200
    assert [r[2] for r in _reads(app)] == [consents[1].id, consents[0].id]


def test_refreshed_access_token_reads_under_the_same_consent(app, rp, citizen):
    tokens = _tokens(rp, "openid selfinfo:household")
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    refreshed = rp.http.post("/token", data=form, headers=headers)
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert _get(rp, "household", refreshed.json["access_token"]).status_code == 200
    (consent,) = _consents(app)
    assert _reads(app) == [(citizen, "selfinfo:household", consent.id)]


def test_data_not_held_is_404_after_a_granted_flow(app, rp):
    make_account(app, CITIZEN)  # an account without data
    token = _tokens(rp, "openid selfinfo:child_benefit")["access_token"]
    response = _get(rp, "child_benefit", token)
    assert response.status_code == 404
    assert _reads(app) == []


# DPoP-bound tokens from a real token request (RFC 9449)


@pytest.fixture
def key():
    return ECKey.generate_key("P-256")


def _dpop_tokens(rp, key, scope: str) -> dict:
    code = rp.login_code(scope=scope, login_hint=CITIZEN)
    first = rp.token(code, extra_headers={"DPoP": dpop_proof(key, "POST", TOKEN_URL)})
    if first.status_code == 400 and first.json.get("error") == "use_dpop_nonce":
        nonce = first.headers["DPoP-Nonce"]
        proof = dpop_proof(key, "POST", TOKEN_URL, nonce=nonce)
        first = rp.token(code, extra_headers={"DPoP": proof})
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["token_type"] == "DPoP"  # noqa: S105 (a token type name)
    return first.json


def _proof(key, token, category="income"):
    url = f"{ISSUER}/selfinfo/v1/{category}"
    return dpop_proof(key, "GET", url, ath=access_token_hash(token))


def test_dpop_bound_token_reads_with_its_proof_only(app, rp, citizen, key):
    token = _dpop_tokens(rp, key, "openid selfinfo:income")["access_token"]
    assert _get(rp, "income", token, "DPoP", DPoP=_proof(key, token)).status_code == 200
    assert _get(rp, "income", token, "DPoP").status_code == 401
    assert _get(rp, "income", token, "Bearer").status_code == 401
    other = ECKey.generate_key("P-256")
    response = _get(rp, "income", token, "DPoP", DPoP=_proof(other, token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("DPoP ")
    assert len(_reads(app)) == 1
