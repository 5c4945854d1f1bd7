"""UserInfo's ``WWW-Authenticate`` speaks the scheme of the request: ``DPoP`` with the proof
algorithms it accepts (``algs``) for a DPoP request (RFC 9449 §7.1), ``Bearer`` for a Bearer
request (RFC 6750 §3), and both for a request that presented no token."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from idp.oidc.dpop import ALGORITHMS
from tests.oidc.test_dpop import _dpop_tokens, _userinfo

ALGS = f'algs="{" ".join(ALGORITHMS)}"'


@pytest.fixture
def key():
    return ECKey.generate_key("P-256")


def _challenges(response) -> list[str]:
    assert response.status_code == 401, response.get_data(as_text=True)
    return response.headers.getlist("WWW-Authenticate")


def test_a_bad_proof_gets_a_dpop_challenge_with_algs(rp, key):
    tokens = _dpop_tokens(rp, key)
    (challenge,) = _challenges(_userinfo(rp, key, tokens["access_token"], ath="wrong"))
    assert challenge.startswith('DPoP error="invalid_dpop_proof", error_description="')
    assert challenge.endswith(ALGS)


@pytest.mark.parametrize("token", ["not.a.jwt", "x" * 40])
def test_a_dpop_request_with_a_bad_token_gets_a_dpop_challenge(rp, key, token):
    (challenge,) = _challenges(_userinfo(rp, key, token))
    assert challenge.startswith('DPoP error="invalid_token", error_description="')
    assert challenge.endswith(ALGS)


def test_a_bound_token_with_another_key_gets_a_dpop_challenge(rp, key):
    tokens = _dpop_tokens(rp, key)
    other = ECKey.generate_key("P-256")
    (challenge,) = _challenges(_userinfo(rp, other, tokens["access_token"]))
    assert challenge.startswith('DPoP error="invalid_token"')
    assert challenge.endswith(ALGS)


def test_a_bearer_request_gets_a_bearer_challenge(rp):
    response = rp.http.get("/userinfo", headers={"Authorization": "Bearer not.a.jwt"})
    (challenge,) = _challenges(response)
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert "algs=" not in challenge


def test_no_token_gets_both_challenges(rp):
    bearer, dpop = _challenges(rp.http.get("/userinfo"))
    assert bearer.startswith('Bearer error="invalid_token"')
    assert dpop.startswith('DPoP error="invalid_token"')
    assert dpop.endswith(ALGS)
