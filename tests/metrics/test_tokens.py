"""The token endpoint's answers: tokens issued by grant type, OAuth errors by code."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

import pytest

from tests.metrics.conftest import scrape
from tests.oidc.conftest import make_rp, rp  # noqa: F401 - fixtures on this module's provider

ISSUED = "jpki_idp_tokens_issued_total"
ERRORS = "jpki_idp_token_errors_total"


@pytest.fixture
def provider(metrics_app):
    return metrics_app


def test_a_code_exchanged_and_a_refresh_count_as_issued_by_grant_type(provider, rp):
    before = scrape(provider)
    tokens = rp.tokens()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    assert rp.http.post("/token", data=form, headers=headers).status_code == 200
    after = scrape(provider)
    for grant in ("authorization_code", "refresh_token"):
        labels = {"grant_type": grant}
        assert after[ISSUED, labels] - before[ISSUED, labels] == 1


def test_a_bad_code_is_counted_as_invalid_grant(provider, rp):
    before = scrape(provider)
    response = rp.token("not-a-code-we-issued")
    assert (response.status_code, response.json["error"]) == (400, "invalid_grant")
    after = scrape(provider)
    labels = {"error": "invalid_grant"}
    assert after[ERRORS, labels] - before[ERRORS, labels] == 1
    assert (
        after[ISSUED, {"grant_type": "authorization_code"}]
        == before[ISSUED, {"grant_type": "authorization_code"}]
    )


def test_a_client_that_fails_authentication_is_invalid_client(provider, rp):
    before = scrape(provider)
    rp.secret = "wrong"  # noqa: S105
    assert rp.token(rp.login_code()).json["error"] == "invalid_client"
    labels = {"error": "invalid_client"}
    assert scrape(provider)[ERRORS, labels] - before[ERRORS, labels] == 1


def test_a_grant_type_the_client_invents_is_not_a_label(provider, rp):
    invented = "urn:example:" + "x" * 20
    form = {"grant_type": invented}
    headers: dict = {}
    rp.auth(form, headers)
    response = rp.http.post("/token", data=form, headers=headers)
    assert response.json["error"] == "unsupported_grant_type"
    samples = scrape(provider)
    assert invented not in samples.text
    assert all(set(label.values()) <= {"authorization_code", "refresh_token", "other"}
               for label in samples.labelled(ISSUED))  # fmt: skip
