"""Revocation (RFC 7009) and introspection (RFC 7662): own tokens only, no probing."""

from __future__ import annotations

import pytest


def _post(rp, path, token, hint=None):
    form = {"token": token}
    if hint:
        form["token_type_hint"] = hint
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post(path, data=form, headers=headers)


def _userinfo_status(rp, access_token):
    return rp.http.get("/userinfo", headers={"Authorization": "Bearer " + access_token}).status_code


def _refresh(rp, refresh_token):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers)


def test_revoked_access_token_stops_working_before_exp(rp):
    tokens = rp.tokens()
    assert _post(rp, "/revoke", tokens["access_token"]).status_code == 200
    assert _userinfo_status(rp, tokens["access_token"]) == 401
    assert _refresh(rp, tokens["refresh_token"]).status_code == 200


def test_revoked_refresh_token_revokes_its_family(jwt_rp):
    tokens = jwt_rp.tokens()
    assert _post(jwt_rp, "/revoke", tokens["refresh_token"], "refresh_token").status_code == 200
    assert _refresh(jwt_rp, tokens["refresh_token"]).json["error"] == "invalid_grant"
    assert _userinfo_status(jwt_rp, tokens["access_token"]) == 401


@pytest.mark.parametrize("token", ["made-up", "a.b.c", "x" * 9000])
def test_unknown_token_revocation_is_a_quiet_success(rp, token):
    assert _post(rp, "/revoke", token).status_code == 200


def test_revocation_of_another_clients_token_is_refused_and_changes_nothing(make_rp):
    owner, other = make_rp(), make_rp()
    tokens = owner.tokens()
    response = _post(other, "/revoke", tokens["access_token"])
    assert response.json["error"] == "invalid_grant"
    assert _userinfo_status(owner, tokens["access_token"]) == 200


def test_revocation_needs_client_authentication(rp):
    tokens = rp.tokens()
    response = rp.http.post("/revoke", data={"token": tokens["access_token"]})
    assert response.json["error"] == "invalid_client"
    assert _userinfo_status(rp, tokens["access_token"]) == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"token": "x", "token_type_hint": "id_token"}, "unsupported_token_type"),
    ],
)
def test_malformed_revocation_requests(rp, form, error):
    headers: dict = {}
    rp.auth(form, headers)
    assert rp.http.post("/revoke", data=form, headers=headers).json["error"] == error


def test_introspection_of_own_access_token(rp):
    tokens = rp.tokens()
    body = _post(rp, "/introspect", tokens["access_token"]).json
    assert body["active"] is True
    assert body["client_id"] == rp.client_id
    assert body["token_type"] == "Bearer"  # noqa: S105
    assert {"sub", "exp", "scope", "iss"} <= body.keys()


def test_introspection_of_own_refresh_token(rp):
    tokens = rp.tokens()
    body = _post(rp, "/introspect", tokens["refresh_token"], "refresh_token").json
    assert (body["active"], body["client_id"]) == (True, rp.client_id)


def test_used_or_revoked_tokens_are_inactive(rp):
    tokens = rp.tokens()
    _refresh(rp, tokens["refresh_token"])
    assert _post(rp, "/introspect", tokens["refresh_token"]).json == {"active": False}
    _post(rp, "/revoke", tokens["access_token"])
    assert _post(rp, "/introspect", tokens["access_token"]).json == {"active": False}


def test_another_clients_token_introspects_as_inactive(make_rp):
    owner, other = make_rp(), make_rp()
    tokens = owner.tokens()
    assert _post(other, "/introspect", tokens["access_token"]).json == {"active": False}


def test_introspection_needs_client_authentication(rp):
    response = rp.http.post("/introspect", data={"token": rp.tokens()["access_token"]})
    assert response.json["error"] == "invalid_client"
