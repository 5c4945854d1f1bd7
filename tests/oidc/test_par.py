"""Pushed authorization requests (RFC 9126): single use, short-lived, bound to their client."""

from __future__ import annotations

import pytest

from idp.services import services
from idp.storage.ephemeral import EPHEMERAL
from tests.oidc.rp import ISSUER, query


def _pushed(rp, **overrides) -> str:
    response = rp.push(**overrides)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["expires_in"] == 60
    assert response.headers["Cache-Control"] == "no-store"
    return response.json["request_uri"]


def _front(rp, request_uri, client_id=None):
    return rp.http.get(
        "/authorize",
        query_string={"client_id": client_id or rp.client_id, "request_uri": request_uri},
    )


def test_pushed_request_completes_the_flow(jwt_rp):
    request_uri = _pushed(jwt_rp, state="par-state")
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    response = _front(jwt_rp, request_uri)
    params = query(response.headers["Location"])
    assert (params["state"], params["iss"]) == ("par-state", ISSUER)
    assert jwt_rp.token(params["code"]).status_code == 200


def test_front_channel_parameters_are_ignored_for_pushed_ones(rp):
    request_uri = _pushed(rp, state="pushed")
    response = rp.http.get(
        "/authorize",
        query_string={
            "client_id": rp.client_id,
            "request_uri": request_uri,
            "redirect_uri": "https://evil.example/cb",
            "state": "front",
        },
    )
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert query(response.headers["Location"])["state"] == "pushed"


def test_request_uri_is_single_use(rp):
    request_uri = _pushed(rp)
    assert _front(rp, request_uri).status_code == 302
    second = _front(rp, request_uri)
    assert (second.status_code, second.json["error"]) == (400, "invalid_request_uri")


def test_request_uri_of_another_client_is_refused(make_rp):
    owner, other = make_rp(), make_rp()
    request_uri = _pushed(owner)
    response = _front(other, request_uri)
    assert response.json["error"] == "invalid_request_uri"
    assert "Location" not in response.headers
    assert _front(owner, request_uri).status_code == 302


def test_a_request_uri_is_resolved_with_one_hold(provider, rp):
    """One round trip: the hold alone finds the pushed request, checks its client and takes it
    out of reach (no read before it)."""
    request_uri = _pushed(rp)
    store = services(provider)[EPHEMERAL]
    calls: list[tuple[str, str]] = []
    for name in ("get", "take", "hold"):
        method = getattr(store, name)
        setattr(store, name, lambda key, _n=name, _m=method: calls.append((_n, key)) or _m(key))
    try:
        assert _front(rp, request_uri).status_code == 302
    finally:
        del store.get, store.take, store.hold
    assert [name for name, key in calls if key.startswith("par:")] == ["hold"]


def test_expired_request_uri_is_refused(provider, rp):
    request_uri = _pushed(rp)
    store = services(provider)[EPHEMERAL]
    store._clock = lambda: 10**12  # MemoryStore: jump far past the 60 s TTL
    assert _front(rp, request_uri).json["error"] == "invalid_request_uri"


@pytest.mark.parametrize(
    "request_uri",
    ["", "urn:ietf:params:oauth:request_uri:made-up", "https://evil.example/req", "x" * 4000],
)
def test_unknown_request_uri_is_refused(rp, request_uri):
    response = _front(rp, request_uri)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_client_requiring_par_cannot_send_a_plain_request(make_rp):
    rp = make_rp(require_par=True)
    params = query(rp.authorize(state="s").headers["Location"])
    assert params["error"] == "invalid_request"
    assert "PAR" in params["error_description"]
    assert _front(rp, _pushed(rp)).status_code == 302


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request"),
        ({"acr_values": "urn:gold"}, "invalid_request"),
    ],
)
def test_invalid_pushed_request_is_refused_in_the_par_response(rp, overrides, error):
    response = rp.push(**overrides)
    assert response.status_code == 400
    assert response.json["error"] == error
    assert "Location" not in response.headers


def test_par_requires_client_authentication(rp):
    response = rp.http.post("/par", data=rp.authorization_params())
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"


def test_par_with_bad_assertion_is_refused(jwt_rp):
    response = jwt_rp.push(assertion=jwt_rp.assertion(aud="https://other.example"))
    assert response.json["error"] == "invalid_client"


def test_par_client_id_must_match_the_authenticated_client(make_rp):
    rp, other = make_rp(), make_rp()
    response = rp.push(client_id=other.client_id)
    assert response.json["error"] == "invalid_client"
