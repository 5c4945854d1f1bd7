"""UserInfo: only our valid, unexpired, still-granted access tokens; RFC 6750 errors."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwt

from idp.oidc.keys import KEY_RING
from idp.services import services


def test_userinfo_returns_the_pairwise_sub(provider, rp):
    tokens = rp.tokens()
    response = rp.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert response.status_code == 200
    body = response.json
    assert body["sub"] == jwt.decode(tokens["access_token"], key_ring_of(provider)).claims["sub"]


def key_ring_of(provider):
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(provider.test_client().get("/jwks").json)


def test_userinfo_of_an_openid_login_has_only_sub(rp):
    token = rp.tokens(scope="openid")["access_token"]
    body = rp.http.get("/userinfo", headers={"Authorization": "Bearer " + token}).json
    assert body.keys() == {"sub"}


def test_userinfo_claims_asked_by_the_claims_parameter_are_released(rp):
    claims = json.dumps({"userinfo": {"name": None}})
    token = rp.tokens(scope="openid", claims=claims)["access_token"]
    body = rp.http.get("/userinfo", headers={"Authorization": "Bearer " + token}).json
    assert body.keys() == {"sub", "name"}  # what the (cardless) login established


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not.a.jwt", "Bearer " + "a" * 5000],
)
def test_missing_or_malformed_token_is_401_invalid_token(rp, header):
    headers = {"Authorization": header} if header is not None else {}
    response = rp.http.get("/userinfo", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_forged_with_another_key_is_refused(provider, rp):
    from joserfc.jwk import RSAKey

    good = jwt.decode(rp.tokens()["access_token"], key_ring_of(provider))
    forged = jwt.encode(good.header, good.claims, RSAKey.generate_key(2048))
    response = rp.http.get("/userinfo", headers={"Authorization": "Bearer " + forged})
    assert response.status_code == 401


def test_id_token_is_not_accepted_as_access_token(rp):
    id_token = rp.tokens()["id_token"]
    response = rp.http.get("/userinfo", headers={"Authorization": "Bearer " + id_token})
    assert response.status_code == 401


def test_expired_access_token_is_refused(provider, rp):
    good = jwt.decode(rp.tokens()["access_token"], key_ring_of(provider))
    with provider.app_context():
        key = services()[KEY_RING].signing_key()
    claims = {**good.claims, "exp": int(time.time()) - 10}
    token = jwt.encode(good.header, claims, key)
    assert rp.http.get("/userinfo", headers={"Authorization": "Bearer " + token}).status_code == 401


def test_signed_token_without_grant_record_is_refused(provider, rp):
    good = jwt.decode(rp.tokens()["access_token"], key_ring_of(provider))
    with provider.app_context():
        key = services()[KEY_RING].signing_key()
    token = jwt.encode(good.header, {**good.claims, "jti": "never-granted"}, key)
    assert rp.http.get("/userinfo", headers={"Authorization": "Bearer " + token}).status_code == 401
