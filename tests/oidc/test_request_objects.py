"""Request objects are not offered (discovery says so): a ``request`` parameter is refused with
``request_not_supported`` (OIDC Core §6.1, RFC 9101 §6.3) and a ``request_uri`` that is a URL to
fetch with ``request_uri_not_supported``; only this server's pushed ``request_uri`` is taken."""

from __future__ import annotations

import pytest

from tests.oidc.rp import ISSUER, query

REQUEST_OBJECT = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."


def test_a_request_object_is_request_not_supported(rp):
    response = rp.authorize(request=REQUEST_OBJECT, state="s1")
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert params["error"] == "request_not_supported"
    assert (params["state"], params["iss"]) == ("s1", ISSUER)
    assert "code" not in params


@pytest.mark.parametrize(
    "request_uri",
    ["https://rp.example/request.jwt", "HTTPS://RP.EXAMPLE/r", "http://127.0.0.1/request.jwt"],
)
def test_a_request_uri_to_fetch_is_request_uri_not_supported(rp, request_uri):
    response = rp.http.get(
        "/authorize", query_string={"client_id": rp.client_id, "request_uri": request_uri}
    )
    assert (response.status_code, response.json["error"]) == (400, "request_uri_not_supported")
    assert "Location" not in response.headers


def test_discovery_offers_no_request_objects(rp):
    metadata = rp.http.get("/.well-known/openid-configuration").json
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False


def test_a_made_up_pushed_request_uri_stays_invalid_request_uri(rp):
    made_up = "urn:ietf:params:oauth:request_uri:made-up"
    response = rp.http.get(
        "/authorize", query_string={"client_id": rp.client_id, "request_uri": made_up}
    )
    assert (response.status_code, response.json["error"]) == (400, "invalid_request_uri")
