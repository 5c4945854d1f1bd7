"""``invalid_client`` challenges only with a scheme the client can use (RFC 6749 §5.2): a request
that tried HTTP Basic, or a client registered for client_secret_basic, gets 401 with a ``Basic``
challenge; a private_key_jwt client, or an unknown one, that sent no credentials gets 400, no
``WWW-Authenticate``, and a description naming what to send."""

from __future__ import annotations

import base64

import pytest

from tests.oidc.rp import ISSUER

ENDPOINTS = ["/token", "/par", "/revoke", "/introspect"]


def _form(rp, endpoint: str, client_id: str) -> dict:
    if endpoint == "/par":
        return {**rp.authorization_params(), "client_id": client_id}
    if endpoint == "/token":
        return {"grant_type": "authorization_code", "code": "c", "client_id": client_id,
                "redirect_uri": rp.redirect_uri, "code_verifier": rp.verifier}  # fmt: skip
    return {"token": "t", "client_id": client_id}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_private_key_jwt_client_without_credentials_gets_no_basic_challenge(jwt_rp, endpoint):
    response = jwt_rp.http.post(endpoint, data=_form(jwt_rp, endpoint, jwt_rp.client_id))
    assert (response.status_code, response.json["error"]) == (400, "invalid_client")
    assert "WWW-Authenticate" not in response.headers
    assert "this client uses private_key_jwt" in response.json["error_description"]
    assert "client_secret_basic" not in response.json["error_description"]


@pytest.mark.parametrize("client_id", [None, "no-such-client"])
def test_an_unknown_client_gets_no_basic_challenge(jwt_rp, client_id):
    form = _form(jwt_rp, "/token", client_id or "")
    response = jwt_rp.http.post("/token", data={k: v for k, v in form.items() if v})
    assert (response.status_code, response.json["error"]) == (400, "invalid_client")
    assert "WWW-Authenticate" not in response.headers


def test_a_basic_client_without_credentials_keeps_its_basic_challenge(rp):
    response = rp.http.post("/token", data=_form(rp, "/token", rp.client_id))
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith('Basic error="invalid_client"')


def test_a_request_that_tried_basic_gets_a_basic_challenge(jwt_rp):
    wrong = base64.b64encode(f"{jwt_rp.client_id}:guess".encode()).decode()
    response = jwt_rp.http.post(
        "/token", data=_form(jwt_rp, "/token", jwt_rp.client_id),
        headers={"Authorization": "Basic " + wrong},
    )  # fmt: skip
    assert (response.status_code, response.json["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_refused_assertion_stays_400_without_a_challenge(jwt_rp):
    response = jwt_rp.token("c", assertion=jwt_rp.assertion(aud=ISSUER + "/elsewhere"))
    assert (response.status_code, response.json["error"]) == (400, "invalid_client")
    assert "WWW-Authenticate" not in response.headers
