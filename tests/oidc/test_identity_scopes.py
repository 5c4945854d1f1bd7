"""``profile`` and ``address``: the login certificate has no name, so they are not offered.

Discovery advertises only what is released; an ordinary client asking for ``profile`` gets the
standard ``invalid_scope`` (RFC 6749 §4.1.2.1) at ``/authorize`` and ``/par``, with a
description that says where those facts come from (``verified_claims``), and nothing is issued.
"""

from __future__ import annotations

import pytest

from idp.oidc.clients import ClientRejected, check_scope
from idp.oidc.verified_claims import CLAIM_ITEMS
from tests.oidc.rp import ISSUER, query

IDENTITY_CLAIMS = ("name", "family_name", "given_name", "birthdate", "gender", "address")


def test_discovery_offers_no_identity_scope_or_claim_outside_verified_claims(provider):
    doc = provider.test_client().get("/.well-known/openid-configuration").json
    assert doc["scopes_supported"][0] == "openid"
    assert not {"profile", "address", "email", "phone"} & set(doc["scopes_supported"])
    assert not set(IDENTITY_CLAIMS) & set(doc["claims_supported"])
    assert {"sub", "verified_claims"} <= set(doc["claims_supported"])
    # the facts are offered where they are released: inside verified_claims
    assert set(IDENTITY_CLAIMS) <= set(doc["claims_in_verified_claims_supported"])
    assert set(doc["claims_in_verified_claims_supported"]) == set(CLAIM_ITEMS)


@pytest.mark.parametrize("scope", ["openid profile", "openid address", "openid profile address"])
def test_authorize_refuses_profile_with_invalid_scope_and_says_why(rp, scope):
    response = rp.authorize(scope=scope, state="s1")
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert (params["error"], params["state"], params["iss"]) == ("invalid_scope", "s1", ISSUER)
    assert "verified_claims" in params["error_description"]
    assert "code" not in params


def test_par_refuses_profile_with_invalid_scope(jwt_rp):
    response = jwt_rp.push(scope="openid profile")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    assert "verified_claims" in response.json["error_description"]
    assert "request_uri" not in response.json


def test_other_unknown_scopes_get_the_generic_description(rp):
    params = query(rp.authorize(scope="openid profile admin").headers["Location"])
    assert params["error"] == "invalid_scope"
    assert "scopes_supported" in params["error_description"]


def test_a_hostile_scope_is_refused_without_echoing_it(rp):
    params = query(rp.authorize(scope="openid \u0000<script>\u3000").headers["Location"])
    assert params["error"] == "invalid_scope"
    assert "<script>" not in params["error_description"]


@pytest.mark.parametrize("scope", ["openid profile", "openid address selfinfo:income"])
def test_a_client_cannot_be_registered_for_profile(scope):
    with pytest.raises(ClientRejected):
        check_scope(scope)


def test_openid_alone_still_logs_in(rp):
    tokens = rp.tokens(scope="openid")
    assert tokens["scope"] == "openid"
