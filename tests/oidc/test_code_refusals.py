"""What the token endpoint says about a code it refuses: a wrong PKCE verifier is named as such
(RFC 7636 §4.6), never as a wrong code, and a code it cannot use (unknown, used, spent by a
refused request, another client's) says why it may be so and what to do."""

from __future__ import annotations

import pytest

CODE_WORDS = "Invalid 'code'"


def _refusal(response) -> tuple[int, str, str]:
    return response.status_code, response.json["error"], response.json["error_description"]


def test_a_wrong_verifier_says_pkce_and_spends_the_code(rp):
    code = rp.login_code()
    status, error, description = _refusal(rp.token(code, code_verifier="w" * 43))
    assert (status, error) == (400, "invalid_grant")
    assert description.startswith("code_verifier does not match the code_challenge")
    status, error, description = _refusal(rp.token(code))  # the right verifier, too late
    assert (status, error) == (400, "invalid_grant")
    assert CODE_WORDS not in description
    assert "code_verifier" in description
    assert "start a new authorization" in description


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "é" * 50, "a b" * 20])
def test_a_malformed_verifier_says_what_a_verifier_is(rp, verifier):
    status, error, description = _refusal(rp.token(rp.login_code(), code_verifier=verifier))
    assert (status, error) == (400, "invalid_request")
    assert description.startswith("code_verifier must be 43 to 128 characters")


def test_a_wrong_redirect_uri_spends_the_code_too(rp):
    code = rp.login_code()
    assert rp.token(code, redirect_uri="https://rp.example/other").json["error"]
    status, error, description = _refusal(rp.token(code))
    assert (status, error) == (400, "invalid_grant")
    assert description.startswith("the code is unknown, expired, already used")


@pytest.mark.parametrize("code", ["not-a-code", "x" * 600])
def test_an_unknown_code_says_what_to_do(rp, code):
    status, error, description = _refusal(rp.token(code))
    assert (status, error) == (400, "invalid_grant")
    assert CODE_WORDS not in description
    assert description.endswith("start a new authorization")


def test_another_clients_code_is_refused_and_spent(make_rp):
    owner, other = make_rp(), make_rp()
    code = owner.login_code()
    assert _refusal(other.token(code, code_verifier=owner.verifier))[:2] == (400, "invalid_grant")
    assert _refusal(owner.token(code))[:2] == (400, "invalid_grant")
