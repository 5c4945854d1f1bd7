"""Whatever arrives, every endpoint answers with a client error or success, never a 5xx (§6)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REGISTRATION_TOKEN

NAMES = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "claims",
    "acr_values",
    "code_challenge",
    "code_challenge_method",
    "request_uri",
    "request",
    "response_mode",
    "dpop_jkt",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
    "id_token_hint",
    "post_logout_redirect_uri",
    "login_hint",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "code",
            "S256",
            "openid",
            "none",
            "-1",
            "{}",
            "[]",
            "a.b.c",
            "null",
            "urn:ietf:params:oauth:request_uri:x",
            "refresh_token",
            "authorization_code",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "https://rp.example/cb",
            "\x00",
            "%ZZ",
            "e30.e30.e30",
        ]
    ),
)
PARAMS = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), VALUES, max_size=8)
HEADERS = st.dictionaries(
    st.sampled_from(["Authorization", "DPoP", "Content-Type"]),
    st.one_of(
        st.sampled_from(
            [
                "Basic eDp5",
                "Bearer a.b.c",
                "DPoP x",
                "Basic ####",
                "application/json",
                "e30.e30.e30",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    max_size=3,
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("path", ["/authorize", "/logout", "/userinfo"])
@FUZZ
@given(params=PARAMS, headers=HEADERS)
def test_get_endpoints_never_fail_with_5xx(provider, rp, path, params, headers):
    response = rp.http.get(path, query_string=params, headers=headers)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "path", ["/token", "/par", "/revoke", "/introspect", "/authorize", "/userinfo", "/logout"]
)
@FUZZ
@given(form=PARAMS, headers=HEADERS)
def test_post_endpoints_never_fail_with_5xx(provider, rp, path, form, headers):
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    response = rp.http.post(path, data=form, headers=headers)
    assert response.status_code < 500


@FUZZ
@given(
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["redirect_uris", "client_name", "jwks", "token_endpoint_auth_method"]),
            st.one_of(VALUES, st.lists(VALUES, max_size=2)),
        ),
        st.lists(VALUES, max_size=2),
        VALUES,
    )
)
def test_registration_never_fails_with_5xx(registrar, body):
    """With the operator's token: without it every body got the same 401, unread."""
    headers = {"Authorization": f"Bearer {REGISTRATION_TOKEN}"}
    response = registrar.test_client().post("/register", json=body, headers=headers)
    assert response.status_code < 500
