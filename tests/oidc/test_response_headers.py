"""Every response carries the citizen pages' headers unless its view chose its own: the logout
confirmation and /authorize's error pages were served without CSP, frame-ancestors, nosniff or
no-store (a clickjackable logout button)."""

from __future__ import annotations

import pytest

PAGE = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
BROWSER = {"Accept": "text/html"}


def _assert_hardened(response) -> None:
    for name, value in PAGE.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "Strict-Transport-Security" not in response.headers  # an http issuer: no HSTS


def test_logout_confirmation_page_cannot_be_framed_or_cached(provider):
    response = provider.test_client().get("/logout", headers=BROWSER)
    assert response.status_code == 200
    assert "<form" in response.get_data(as_text=True)
    _assert_hardened(response)


@pytest.mark.parametrize(
    "query",
    [
        {"client_id": "nobody", "response_type": "code"},  # unknown client: shown to the person
        {},
    ],
)
def test_authorize_error_pages_are_hardened(provider, query):
    response = provider.test_client().get("/authorize", query_string=query, headers=BROWSER)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    _assert_hardened(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/par"), ("POST", "/token"), ("GET", "/userinfo"), ("GET", "/nowhere")],
)
def test_program_endpoints_and_errors_are_hardened(provider, method, path):
    response = provider.test_client().open(path, method=method)
    assert 400 <= response.status_code < 500
    _assert_hardened(response)


def test_discovery_keeps_its_public_caching(provider):
    response = provider.test_client().get("/.well-known/openid-configuration")
    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    assert response.headers["X-Content-Type-Options"] == "nosniff"
