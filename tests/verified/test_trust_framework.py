"""The trust framework is chosen per client or per request, and never guessed."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.consent.verified_release import release
from idp.oidc.verified_claims import check_request, trust_framework
from tests.verified.helpers import EVERY_ITEM, IDENTITY, verified, where

NAME = {"name": None}
BANK, CARRIER, UNREGISTERED = {"trust_framework": "jp_aml"}, {"trust_framework": "jp_mpiupa"}, {}


def _asked(spec) -> dict:
    return where(userinfo=verified(NAME, spec))


def test_the_clients_registered_framework_when_the_request_leaves_it_open():
    assert trust_framework(_asked(None), BANK) == "jp_aml"
    assert trust_framework(_asked(None), CARRIER) == "jp_mpiupa"


@pytest.mark.parametrize("client", [BANK, CARRIER, UNREGISTERED])
def test_the_requests_value_decides(client):
    assert trust_framework(_asked({"value": "jp_mpiupa"}), client) == "jp_mpiupa"
    assert trust_framework(_asked({"value": "jp_aml"}), client) == "jp_aml"


def test_among_values_the_clients_framework_is_preferred_else_the_requests_first():
    both = {"values": ["jp_mpiupa", "jp_aml"]}
    assert trust_framework(_asked(both), BANK) == "jp_aml"
    assert trust_framework(_asked(both), UNREGISTERED) == "jp_mpiupa"


def test_unknown_values_beside_a_known_one_are_skipped():
    assert trust_framework(_asked({"values": ["eidas", "jp_aml"]}), CARRIER) == "jp_aml"


def test_requests_in_both_locations_must_agree():
    request = where(
        id_token=verified(NAME, {"values": ["jp_aml", "jp_mpiupa"]}),
        userinfo=verified(NAME, {"value": "jp_mpiupa"}),
    )
    assert trust_framework(request, BANK) == "jp_mpiupa"


def test_requests_that_exclude_each_other_are_invalid_request():
    request = where(
        id_token=verified(NAME, {"value": "jp_aml"}),
        userinfo=verified(NAME, {"value": "jp_mpiupa"}),
    )
    with pytest.raises(InvalidRequestError, match="exclude each other"):
        trust_framework(request, BANK)


def test_no_framework_anywhere_is_invalid_request():
    with pytest.raises(InvalidRequestError, match="no trust framework"):
        trust_framework(_asked(None), UNREGISTERED)


def test_an_unknown_framework_is_invalid_request_whatever_the_client():
    with pytest.raises(InvalidRequestError, match="not supported"):
        trust_framework(_asked({"value": "eidas"}), BANK)


def test_the_released_verification_names_the_chosen_framework():
    _, userinfo = release(_asked({"value": "jp_mpiupa"}), IDENTITY, EVERY_ITEM, BANK)
    assert userinfo["verification"]["trust_framework"] == "jp_mpiupa"
    _, userinfo = release(_asked(None), IDENTITY, EVERY_ITEM, CARRIER)
    assert userinfo["verification"]["trust_framework"] == "jp_mpiupa"


def test_check_request_is_none_without_verified_claims_and_the_framework_with():
    assert check_request({}, UNREGISTERED) is None
    assert check_request({"userinfo": {"name": None}}, UNREGISTERED) is None
    assert check_request(_asked(None), CARRIER) == "jp_mpiupa"
    with pytest.raises(InvalidRequestError):
        check_request(_asked(None), UNREGISTERED)
    with pytest.raises(InvalidRequestError):
        check_request(where(userinfo=verified({"email": None})), BANK)
