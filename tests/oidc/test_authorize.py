"""The authorization endpoint: validation before anything is shown, then the code response."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.oidc.authenticator import ACR_CARD_AUTH, ACR_SIGN_IDENTITY
from idp.services import services
from idp.storage.ephemeral import EPHEMERAL
from tests.oidc.rp import ISSUER, query


def _id_token(provider, token: str) -> dict:
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    return jwt.decode(token, keys).claims


def test_code_response_carries_state_and_iss(rp):
    response = rp.authorize(state="xyz")
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert (params["state"], params["iss"]) == ("xyz", ISSUER)
    assert len(params["code"]) >= 43


def test_id_token_has_nonce_acr_amr_auth_time_and_pairwise_sub(provider, rp):
    tokens = rp.tokens(nonce="n-123")
    claims = _id_token(provider, tokens["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["aud"] == [rp.client_id]
    assert claims["nonce"] == "n-123"
    assert claims["acr"] == ACR_CARD_AUTH
    assert set(claims["amr"]) >= {"pin", "hwk"}
    assert isinstance(claims["auth_time"], int)
    assert "test-account" not in claims["sub"]


def test_pairwise_subjects_differ_between_sectors_and_match_within_one(make_rp, provider):
    a = make_rp(redirect="https://a.example/cb")
    a2 = make_rp(redirect="https://a.example/other")
    b = make_rp(redirect="https://b.example/cb")
    subs = [_id_token(provider, r.tokens()["id_token"])["sub"] for r in (a, a2, b)]
    assert subs[0] == subs[1]
    assert subs[0] != subs[2]


def test_public_subject_is_the_same_for_every_client(make_rp, provider):
    a = make_rp(redirect="https://a.example/cb", subject_type="public")
    b = make_rp(redirect="https://b.example/cb", subject_type="public")
    subs = {_id_token(provider, r.tokens()["id_token"])["sub"] for r in (a, b)}
    assert len(subs) == 1


def test_requested_acr_is_reached(provider, rp):
    tokens = rp.tokens(acr_values=f"urn:unknown {ACR_SIGN_IDENTITY}")
    assert _id_token(provider, tokens["id_token"])["acr"] == ACR_SIGN_IDENTITY


def test_acr_through_claims_parameter_is_honoured(provider, rp):
    claims = {"id_token": {"acr": {"essential": True, "values": [ACR_SIGN_IDENTITY]}}}
    tokens = rp.tokens(claims=json.dumps(claims))
    assert _id_token(provider, tokens["id_token"])["acr"] == ACR_SIGN_IDENTITY


def test_unsupported_acr_values_are_refused_not_downgraded(rp):
    params = query(rp.authorize(acr_values="urn:gold", state="s").headers["Location"])
    assert params["error"] == "invalid_request"
    assert (params["state"], params["iss"]) == ("s", ISSUER)
    assert "code" not in params


def test_session_is_reused_without_new_login_then_prompt_none_works(provider, rp):
    first = _id_token(provider, rp.tokens()["id_token"])
    second = _id_token(provider, rp.tokens(prompt="none")["id_token"])
    assert second["auth_time"] == first["auth_time"]
    assert second["sid"] == first["sid"]


def test_prompt_none_without_session_is_login_required(rp):
    params = query(rp.authorize(prompt="none").headers["Location"])
    assert params["error"] == "login_required"
    assert params["iss"] == ISSUER


def test_prompt_login_forces_a_new_login(provider, rp):
    first = _id_token(provider, rp.tokens()["id_token"])
    second = _id_token(provider, rp.tokens(prompt="login")["id_token"])
    assert second["sid"] != first["sid"]


def test_a_stronger_acr_is_reached_by_the_signing_step_of_the_consent(provider, rp):
    """The card-login session is kept; the signing certificate's identity is proven on the
    consent screen (the testing screen supplies one), so the code carries the stronger acr."""
    first = _id_token(provider, rp.tokens()["id_token"])
    assert first["acr"] == ACR_CARD_AUTH
    second = _id_token(provider, rp.tokens(acr_values=ACR_SIGN_IDENTITY)["id_token"])
    assert second["sid"] == first["sid"]
    assert second["acr"] == ACR_SIGN_IDENTITY


def test_max_age_zero_forces_a_new_login_and_returns_auth_time(provider, rp):
    first = _id_token(provider, rp.tokens()["id_token"])
    second = _id_token(provider, rp.tokens(max_age="0")["id_token"])
    assert second["sid"] != first["sid"]
    assert "auth_time" in second


def test_max_age_covering_the_session_reuses_it(provider, rp):
    first = _id_token(provider, rp.tokens()["id_token"])
    second = _id_token(provider, rp.tokens(max_age="3600")["id_token"])
    assert second["sid"] == first["sid"]


def test_requested_userinfo_claims_reach_id_token_only_when_asked(provider, rp):
    claims = {"id_token": {"name": None}}
    token = _id_token(provider, rp.tokens(claims=json.dumps(claims))["id_token"])
    assert token["name"] == "テスト 太郎"
    assert "name" not in _id_token(provider, rp.tokens()["id_token"])


# --- malformed requests: the right error, nothing issued, never a 5xx ---


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "select_account"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": '{"id_token": 3}'}, "invalid_request"),
        ({"claims": '["x"]'}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"response_mode": "form_post"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ],
)
def test_invalid_request_is_redirected_with_error_state_and_iss(rp, overrides, error):
    response = rp.authorize(state="s1", **overrides)
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith(rp.redirect_uri + "?")
    assert (params["error"], params["state"], params["iss"]) == (error, "s1", ISSUER)
    assert "code" not in params


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": "https://rp.example/cb/"},
        {"redirect_uri": "https://rp.example/cb?x=1"},
        {"redirect_uri": "https://rp.example/cb#"},
        {"redirect_uri": "https://RP.example/cb"},
        {"redirect_uri": None},
        {"client_id": "nobody"},
        {"client_id": None},
    ],
)
def test_unverified_redirect_or_client_is_never_redirected_to(rp, overrides):
    response = rp.authorize(**overrides)
    assert response.status_code in (400, 401)
    assert "Location" not in response.headers
    assert response.json["error"] in ("invalid_request", "invalid_client")


def test_repeated_parameters_are_refused(rp):
    params = rp.authorization_params()
    query_string = "&".join(f"{k}={v}" for k, v in params.items()) + "&state=second"
    response = rp.http.get("/authorize?" + query_string)
    assert "code=" not in response.headers.get("Location", "")
    assert response.status_code in (302, 400)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "response_type=code",
        "client_id=%00",
        "client_id=" + "a" * 5000,
        "response_type=code&client_id=x&redirect_uri=%ZZ",
        "scope=%C0%AF",
        "response_type=%1F",
        "response_type=%E3%81%82",
        "prompt=%0A",
    ],
)
def test_garbage_never_yields_a_5xx(provider, raw):
    response = provider.test_client().get("/authorize?" + raw)
    assert response.status_code < 500


def test_without_authenticator_login_is_refused_clearly(tmp_path):
    from idp.oidc.clients import register_client
    from tests.conftest import idp_test_config, make_app
    from tests.oidc.rp import RelyingParty

    app = make_app(idp_test_config(f"sqlite:///{tmp_path}/n.sqlite3"), tmp_path / "i")
    with app.app_context():
        client, secret = register_client("RP", ["https://rp.example/cb"], "client_secret_basic")
        client_id = client.client_id
    rp = RelyingParty(app.test_client(), client_id, "https://rp.example/cb", secret)
    response = rp.authorize()
    assert response.status_code == 503
    assert "Location" not in response.headers


def test_login_transaction_cannot_be_finished_from_another_browser(provider, rp):
    """A login started in the attacker's browser cannot be completed in the victim's."""
    from idp.oidc.authenticator import LoginResult
    from idp.oidc.authorize import finish_login

    store = services(provider)[EPHEMERAL]
    with provider.test_request_context("/authorize"):
        from flask import session

        session["browser"] = "attacker-browser"
        tx_id = "tx-1"
        params = rp.authorization_params()
        store.set(
            "login:" + tx_id,
            json.dumps(
                {
                    "params": params,
                    "pushed": False,
                    "acr": [ACR_CARD_AUTH],
                    "browser": "attacker-browser",
                }
            ).encode(),
            60,
        )
    with provider.test_request_context("/login/finish"):
        from werkzeug.exceptions import BadRequest

        login = LoginResult("victim", ACR_CARD_AUTH, 0)
        with pytest.raises(BadRequest):
            finish_login(tx_id, login)


def test_a_request_wrong_in_several_ways_always_gets_the_first_check_s_refusal(rp):
    """The grant's checks run in one order: a request both without PKCE and with a response mode
    we do not offer is refused for the response mode (the policy runs before PKCE) every time,
    not for whichever check a set of hooks happened to yield first."""
    descriptions = set()
    for _ in range(40):
        response = rp.authorize(state="s", code_challenge=None, response_mode="fragment")
        descriptions.add(query(response.headers["Location"])["error_description"])
    assert descriptions == {"only response_mode=query is supported"}
