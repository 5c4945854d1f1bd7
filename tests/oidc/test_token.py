"""The token endpoint: client authentication, PKCE, single-use codes bound to their client."""

from __future__ import annotations

import secrets
import time

import pytest
import redis
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from idp.oidc.codes import redeemed_family, redeemed_tombstone
from idp.oidc.tokens import grant_record, jti_of, load_grant
from idp.storage.ephemeral import MemoryStore, RedisStore
from tests.oidc.rp import ISSUER, TOKEN_URL


def test_private_key_jwt_client_gets_tokens(jwt_rp):
    tokens = jwt_rp.tokens()
    assert tokens["token_type"] == "Bearer"  # noqa: S105
    assert {"access_token", "id_token", "expires_in"} <= tokens.keys()
    assert len(tokens["refresh_token"]) >= 43


def test_token_response_is_not_cacheable(rp):
    response = rp.token(rp.login_code())
    assert response.headers["Cache-Control"] == "no-store"


def test_access_token_is_an_rfc9068_jwt(provider, rp):
    token = rp.tokens()["access_token"]
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    decoded = jwt.decode(token, keys)
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"]
    claims = decoded.claims
    assert (claims["iss"], claims["aud"], claims["client_id"]) == (ISSUER, ISSUER, rp.client_id)
    assert claims["exp"] - claims["iat"] == 300
    assert {"sub", "jti", "scope", "acr", "auth_time"} <= claims.keys()


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_URL, ISSUER + "/par"])
def test_assertion_audience_may_be_issuer_or_endpoint(jwt_rp, aud):
    code = jwt_rp.login_code()
    assert jwt_rp.token(code, jwt_rp.assertion(aud=aud)).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://other-idp.example"},
        {"aud": [ISSUER, "https://other-idp.example"]},
        {"aud": None},
        {"exp": int(time.time()) - 120},
        {"exp": "beyond an hour"},  # computed when the test runs, not when it is collected
        {"exp": None},
        {"jti": None},
        {"iss": "someone-else"},
        {"sub": "someone-else"},
    ],
)
def test_bad_client_assertion_is_invalid_client_and_code_stays_unissued(jwt_rp, claims):
    code = jwt_rp.login_code()
    if claims.get("exp") == "beyond an hour":
        claims = {"exp": int(time.time()) + 3600 + 120}
    response = jwt_rp.token(code, jwt_rp.assertion(**claims))
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"
    assert "access_token" not in response.json


@pytest.mark.parametrize("lifetime", [600, 3600], ids=["idpyoidc-10-min", "authlib-1-hour"])
def test_assertion_lifetimes_common_libraries_send_are_accepted_once(jwt_rp, lifetime):
    """Authlib's client signs assertions valid for an hour, idpyoidc's for ten minutes; both
    are accepted (``tokens.client_assertion_max_age``, an hour), and only once."""
    assertion = jwt_rp.assertion(exp=int(time.time()) + lifetime)
    assert jwt_rp.token(jwt_rp.login_code(), assertion).status_code == 200
    replayed = jwt_rp.token(jwt_rp.login_code(), assertion)
    assert (replayed.status_code, replayed.json["error"]) == (400, "invalid_client")


def test_an_assertion_jti_is_remembered_until_its_exp():
    """The replay cache keeps a ``jti`` for the assertion's whole remaining lifetime (plus the
    leeway), not a fixed time: an hour-long assertion replayed 59 minutes later is refused."""
    from idp.config import Config
    from idp.oidc.client_auth import PrivateKeyJWT

    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    method = PrivateKeyJWT(Config(), lambda: store, list)
    claims = {"sub": "bank", "exp": int(time.time()) + 3600}
    assert method.validate_jti(claims, "j-1")
    now[0] = 3540.0
    assert not method.validate_jti(claims, "j-1")
    now[0] = 3600.0 + 61
    assert method.validate_jti(claims, "j-1")  # past exp + leeway: the assertion itself is dead


def test_an_assertion_too_far_ahead_spends_no_jti(jwt_rp):
    """Refused for its ``exp`` before its ``jti`` is recorded: the same ``jti`` in a
    well-formed assertion is then accepted."""
    late = jwt_rp.assertion(jti="once", exp=int(time.time()) + 7200)
    refused = jwt_rp.token(jwt_rp.login_code(), late)
    assert refused.json["error"] == "invalid_client"
    assert "too far ahead" in refused.json["error_description"]
    assert jwt_rp.token(jwt_rp.login_code(), jwt_rp.assertion(jti="once")).status_code == 200


def test_client_assertion_replay_is_refused(jwt_rp):
    assertion = jwt_rp.assertion()
    assert jwt_rp.token(jwt_rp.login_code(), assertion).status_code == 200
    response = jwt_rp.token(jwt_rp.login_code(), assertion)
    assert response.json["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_refused(jwt_rp):
    real = jwt_rp.key
    jwt_rp.key = RSAKey.generate_key(2048, {"kid": real.kid})
    response = jwt_rp.token(jwt_rp.login_code())
    jwt_rp.key = real
    assert response.json["error"] == "invalid_client"


@pytest.mark.filterwarnings("ignore:JWS algorithm")
def test_unsigned_assertion_is_refused(jwt_rp):
    now = int(time.time())
    claims = {
        "iss": jwt_rp.client_id,
        "sub": jwt_rp.client_id,
        "aud": ISSUER,
        "jti": "x",
        "exp": now + 60,
    }
    unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    response = jwt_rp.token(jwt_rp.login_code(), unsigned)
    assert response.json["error"] == "invalid_client"


def test_wrong_client_secret_is_invalid_client(rp):
    code = rp.login_code()
    rp.secret = "not-the-secret"  # noqa: S105
    response = rp.token(code)
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")


def test_basic_client_cannot_switch_to_private_key_jwt(jwt_rp, rp):
    """A client authenticates only with its registered method."""
    code = rp.login_code()
    rp.secret, rp.key = None, jwt_rp.key
    assert rp.token(code).json["error"] == "invalid_client"


def test_two_authentication_methods_at_once_are_refused(jwt_rp):
    code = jwt_rp.login_code()
    jwt_rp.extra_auth_headers = {"Authorization": "Basic eDp5"}
    response = jwt_rp.token(code)
    assert response.json["error"] == "invalid_request"


# --- RFC 9700 / FAPI 2.0 attacks ---


def test_code_reuse_is_refused_and_revokes_what_the_code_produced(rp):
    code = rp.login_code()
    first = rp.token(code)
    assert first.status_code == 200
    response = rp.token(code)
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")
    bearer = {"Authorization": "Bearer " + first.json["access_token"]}
    assert rp.http.get("/userinfo", headers=bearer).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": first.json["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    assert rp.http.post("/token", data=form, headers=headers).json["error"] == "invalid_grant"


def test_code_injection_into_another_client_is_refused_and_burns_the_code(make_rp):
    victim, attacker = make_rp(), make_rp()
    code = victim.login_code()
    attacker.verifier = victim.verifier
    assert attacker.token(code).json["error"] == "invalid_grant"
    assert victim.token(code).json["error"] == "invalid_grant"


def test_missing_code_verifier_is_refused(rp):
    response = rp.token(rp.login_code(), code_verifier=None)
    assert response.json["error"] == "invalid_request"


def test_wrong_code_verifier_is_invalid_grant(rp):
    response = rp.token(rp.login_code(), code_verifier="x" * 64)
    assert response.json["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_authorization_request(rp):
    response = rp.token(rp.login_code(), redirect_uri="https://rp.example/other")
    assert response.json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": None}, "unsupported_grant_type"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials"},
            "unauthorized_client",
        ),  # only for scope ssf, private_key_jwt
        ({"code": None}, "invalid_request"),
        ({"code": "made-up"}, "invalid_grant"),
        ({"code": "x" * 10000}, "invalid_grant"),
        ({"grant_type": "\x1f"}, "invalid_request"),
        ({"grant_type": "あ"}, "invalid_request"),
    ],
)
def test_malformed_token_requests_get_oauth_errors(rp, form, error):
    code = rp.login_code()
    response = rp.token(code, **form)
    assert response.status_code in (400, 401)
    assert response.json["error"] == error
    assert rp.token(code).status_code == 200 or form.get("code") is not None


def test_token_endpoint_refuses_get(rp):
    assert rp.http.get("/token").status_code == 405


def test_json_body_is_not_a_token_request(rp):
    response = rp.http.post("/token", json={"grant_type": "authorization_code"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "header", ["Basic ", " ", "Basic ####", "Basic bm9jb2xvbg==", "Basic //79", "Bearer "]
)
def test_malformed_authorization_header_is_invalid_client_not_5xx(rp, header):
    code = rp.login_code()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": rp.verifier,
        "redirect_uri": rp.redirect_uri,
    }
    response = rp.http.post("/token", data=form, headers={"Authorization": header})
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert rp.token(code).status_code == 200


def test_private_key_jwt_with_jwks_uri_fetches_and_caches_the_keys(make_rp, tmp_path):
    from flask import Flask

    from tests.oidc.live import free_port, serving

    key = RSAKey.generate_key(2048, {"use": "sig"}, auto_kid=True)
    served = Flask("rp-jwks")
    hits = []

    @served.get("/jwks")
    def jwks():
        hits.append(1)
        return {"keys": [key.as_dict(private=False)]}

    port = free_port()
    with serving(served, port) as url:
        rp = make_rp("private_key_jwt", key=key, jwks_uri=url + "/jwks")
        assert rp.token(rp.login_code()).status_code == 200
        assert rp.token(rp.login_code()).status_code == 200
    assert len(hits) == 1


def test_tokens_never_reach_the_logs_even_at_debug(rp, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    tokens = rp.tokens()
    logged = caplog.text
    for name in ("access_token", "refresh_token", "id_token"):
        assert tokens[name] not in logged


@pytest.mark.parametrize("store_kind", ["memory", "redis"])
def test_the_grant_and_the_codes_tombstone_are_one_write(store_kind, redis_url):
    """What the token endpoint keeps after redeeming a code, in one round trip: the grant
    behind the access token and the code's tombstone naming its family read back as written."""
    prefix = f"test:{secrets.token_hex(6)}:"
    client = redis.Redis.from_url(redis_url)
    store = MemoryStore() if store_kind == "memory" else RedisStore(client, prefix)
    key = RSAKey.generate_key(2048)
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, {"jti": "j-1", "sub": "s"}, key)
    try:
        store.write(grant_record(token, {"sub": "s"}, 60), redeemed_tombstone("c-1", "fam-1", 60))
        assert (jti_of(token), load_grant(store, "j-1")) == ("j-1", {"sub": "s"})
        assert redeemed_family(store, "c-1") == "fam-1"
        assert redeemed_family(store, "c-2") is None
    finally:
        for name in client.scan_iter(prefix + "*"):
            client.delete(name)
