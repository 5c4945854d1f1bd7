"""Refresh tokens rotate; a reused one revokes its family and the last access token."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Rotation is a database race: run this suite on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idp.sqlite3"
    return request.getfixturevalue("postgres_url")


def _refresh(rp, refresh_token, **extra):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    headers: dict = {}
    rp.auth(form, headers)
    return rp.http.post("/token", data=form, headers=headers)


def _userinfo(rp, access_token):
    return rp.http.get("/userinfo", headers={"Authorization": "Bearer " + access_token})


def test_refresh_rotates_and_keeps_subject_and_claims(rp):
    first = rp.tokens()
    second = _refresh(rp, first["refresh_token"])
    assert second.status_code == 200, second.get_data(as_text=True)
    body = second.json
    assert body["refresh_token"] != first["refresh_token"]
    assert _userinfo(rp, body["access_token"]).json == _userinfo(rp, first["access_token"]).json


def test_private_key_jwt_client_refreshes(jwt_rp):
    assert _refresh(jwt_rp, jwt_rp.tokens()["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_whole_family(rp):
    first = rp.tokens()
    second = _refresh(rp, first["refresh_token"]).json
    replay = _refresh(rp, first["refresh_token"])
    assert (replay.status_code, replay.json["error"]) == (400, "invalid_grant")
    assert _refresh(rp, second["refresh_token"]).json["error"] == "invalid_grant"
    assert _userinfo(rp, second["access_token"]).status_code == 401


def test_other_families_survive_a_reuse(rp):
    kept = rp.tokens()
    burnt = rp.tokens()
    _refresh(rp, burnt["refresh_token"])
    _refresh(rp, burnt["refresh_token"])
    assert _refresh(rp, kept["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client_is_refused(make_rp):
    owner, thief = make_rp(), make_rp()
    stolen = owner.tokens()["refresh_token"]
    assert _refresh(thief, stolen).json["error"] == "invalid_grant"


def test_scope_can_narrow_but_not_widen(rp):
    tokens = rp.tokens(scope="openid")
    assert _refresh(rp, tokens["refresh_token"], scope="openid profile").json["error"] == (
        "invalid_scope"
    )


def test_concurrent_use_of_one_refresh_token_succeeds_at_most_once(provider, rp):
    token = rp.tokens()["refresh_token"]
    results = []

    def attempt():
        with provider.app_context():
            results.append(_refresh(rp, token).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) <= 1


@pytest.mark.parametrize("value", [None, "", "made-up", "x" * 1000])
def test_missing_or_unknown_refresh_token_is_refused(rp, value):
    rp.tokens()
    form = {"grant_type": "refresh_token"}
    if value is not None:
        form["refresh_token"] = value
    headers: dict = {}
    rp.auth(form, headers)
    response = rp.http.post("/token", data=form, headers=headers)
    assert response.json["error"] in ("invalid_request", "invalid_grant")
