"""Authorization errors that cannot go back to the client (a used or unknown request_uri, an
unregistered redirect_uri, an unknown client) are a readable page for a person, in Japanese and
English, leading back to the service where this browser came from one; a program asking for
JSON keeps the OAuth error."""

from __future__ import annotations

import re

import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
LINK = re.compile(r'<a href="([^"]+)" class="button" id="return-to-service">([^<]+)</a>')
URN = "urn:ietf:params:oauth:request_uri:"


def _cases(rp, used: str) -> dict[str, tuple[dict, str]]:
    return {
        "used request_uri": (
            {"client_id": rp.client_id, "request_uri": used},
            "invalid_request_uri",
        ),
        "unknown or expired request_uri": (
            {"client_id": rp.client_id, "request_uri": URN + "A" * 43},
            "invalid_request_uri",
        ),
        "unregistered redirect_uri": (
            rp.authorization_params(redirect_uri="https://elsewhere.example/cb"),
            "invalid_request",
        ),
        "unknown client": ({"client_id": "nobody", "response_type": "code"}, "invalid_client"),
    }


@pytest.fixture
def used(rp) -> str:
    """A request_uri this browser already used, at a login that succeeded."""
    request_uri = rp.push().json["request_uri"]
    first = rp.http.get(
        "/authorize",
        query_string={"client_id": rp.client_id, "request_uri": request_uri},
        headers=BROWSER,
    )
    assert first.status_code == 302, first.get_data(as_text=True)
    return request_uri


@pytest.mark.parametrize(
    "case", ["used request_uri", "unknown or expired request_uri", "unregistered redirect_uri"]
)
def test_an_error_that_cannot_be_redirected_is_a_page_with_a_way_back(rp, used, case):
    query, code = _cases(rp, used)[case]
    ja = rp.http.get("/authorize", query_string=query, headers=BROWSER)
    assert (ja.status_code, ja.mimetype) == (400, "text/html")
    page = ja.get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "この要求は完了できません" in page
    assert code in page  # the reference for the service's support
    link = LINK.search(page)
    assert link is not None, page
    assert link.group(1) == "https://rp.example/"
    assert link.group(2).endswith("に戻る")
    en = rp.http.get("/authorize", query_string=query, headers={**BROWSER, "Accept-Language": "en"})
    page = en.get_data(as_text=True)
    assert "This request cannot be completed" in page
    assert LINK.search(page).group(2).startswith("Back to ")


def test_a_browser_that_came_from_no_service_gets_no_link(provider, rp, used):
    stranger = provider.test_client()
    for case, (query, _code) in _cases(rp, used).items():
        response = stranger.get("/authorize", query_string=query, headers=BROWSER)
        assert (response.status_code, response.mimetype) == (400, "text/html"), case
        assert LINK.search(response.get_data(as_text=True)) is None, case


def test_a_program_asking_for_json_keeps_the_oauth_error(rp, used):
    for case, (query, code) in _cases(rp, used).items():
        response = rp.http.get(
            "/authorize", query_string=query, headers={"Accept": "application/json"}
        )
        assert (response.status_code, response.mimetype) == (400, "application/json"), case
        assert response.json["error"] == code, case
