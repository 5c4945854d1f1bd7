"""Refresh tokens: unbound ones rotate and a reused one revokes its family and the last access
token; DPoP-bound ones are kept, so a refresh whose answer was lost can be retried."""

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
    assert _refresh(rp, tokens["refresh_token"], scope="openid selfinfo:income").json["error"] == (
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


def _dpop_refresh(rp, refresh_token, key):
    """A refresh with a DPoP proof by ``key``, with the server's nonce when it asks."""
    from tests.oidc.rp import ISSUER, dpop_proof

    nonce = None
    for _ in range(2):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        headers = {"DPoP": dpop_proof(key, "POST", ISSUER + "/token", nonce=nonce)}
        rp.auth(form, headers)
        response = rp.http.post("/token", data=form, headers=headers)
        if response.status_code != 400 or response.json["error"] != "use_dpop_nonce":
            break
        nonce = response.headers["DPoP-Nonce"]
    return response


def _dpop_userinfo(rp, access_token, key):
    from idp.oidc.dpop import access_token_hash
    from tests.oidc.rp import ISSUER, dpop_proof

    proof = dpop_proof(key, "GET", ISSUER + "/userinfo", ath=access_token_hash(access_token))
    headers = {"Authorization": "DPoP " + access_token, "DPoP": proof}
    return rp.http.get("/userinfo", headers=headers)


def test_a_dpop_bound_refresh_token_is_kept_so_a_lost_answer_can_be_retried(rp):
    """FAPI 2.0: sender-constrained refresh tokens are not rotated. The client whose first
    refresh answer was lost presents the same token again and gets tokens; the answer repeats
    the token it holds; refreshes without the key, or with another, are refused and burn
    nothing."""
    from joserfc.jwk import ECKey

    from tests.oidc.rp import ISSUER, dpop_proof

    key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    code = rp.login_code()
    nonce = rp.token("x", extra_headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/token")})
    proof = dpop_proof(key, "POST", ISSUER + "/token", nonce=nonce.headers["DPoP-Nonce"])
    tokens = rp.token(code, extra_headers={"DPoP": proof}).json
    assert tokens["token_type"] == "DPoP"  # noqa: S105
    held = tokens["refresh_token"]
    lost = _dpop_refresh(rp, held, key)  # answered, but the client never saw the answer
    assert lost.status_code == 200, lost.get_data(as_text=True)
    retried = _dpop_refresh(rp, held, key)
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.json["refresh_token"] == held == lost.json["refresh_token"]
    assert retried.json["token_type"] == "DPoP"  # noqa: S105
    assert _dpop_userinfo(rp, retried.json["access_token"], key).status_code == 200
    assert _dpop_refresh(rp, held, other).json["error"] == "invalid_dpop_proof"
    assert _refresh(rp, held).json["error"] == "invalid_dpop_proof"
    again = _dpop_refresh(rp, held, key)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert _dpop_userinfo(rp, again.json["access_token"], key).status_code == 200


def test_an_unbound_refresh_token_retried_after_a_lost_answer_ends_the_family(rp):
    """Where rotation remains (no DPoP key), the retry with the previous token is reuse: the
    family and its newest access token are revoked (RFC 9700 §4.14.2)."""
    held = rp.tokens()
    lost = _refresh(rp, held["refresh_token"])
    assert lost.status_code == 200
    assert lost.json["refresh_token"] != held["refresh_token"]
    retried = _refresh(rp, held["refresh_token"])
    assert (retried.status_code, retried.json["error"]) == (400, "invalid_grant")
    assert _refresh(rp, lost.json["refresh_token"]).json["error"] == "invalid_grant"
    assert _userinfo(rp, lost.json["access_token"]).status_code == 401
