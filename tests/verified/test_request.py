"""Parsing a verified-claims request (OIDC4IDA §6): what is asked, and what is refused."""

from __future__ import annotations

import json

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError
from hypothesis import given
from hypothesis import strategies as st

from idp.consent.verified_release import purposes, requested_items
from idp.oidc.claims import parse_claims_request
from idp.oidc.hygiene import VSCHAR
from idp.oidc.verified_claims import check_purpose, is_requested
from tests.verified.helpers import claims_param, verified, where

ESSENTIAL = {"essential": True, "purpose": "口座開設の本人確認のため"}


def test_no_verified_claims_asks_for_nothing():
    assert requested_items({}) == []
    assert requested_items({"userinfo": {"name": None}, "id_token": {"acr": None}}) == []
    assert not is_requested({"userinfo": {"name": None}})


def test_each_requested_claim_is_one_item_with_its_essential_flag():
    request = where(userinfo=verified({"name": ESSENTIAL, "birthdate": None}))
    assert requested_items(request) == [("verified:name", True), ("verified:birthdate", False)]
    assert is_requested(request)


def test_items_from_both_locations_merge_and_essential_wins():
    request = where(
        id_token=verified({"name": None}),
        userinfo=verified({"name": {"essential": True}, "address": None, "gender": None}),
    )
    assert requested_items(request) == [
        ("verified:name", True),
        ("verified:address", False),
        ("verified:gender", False),
    ]


def test_family_and_given_name_are_the_name_item():
    request = where(userinfo=verified({"family_name": None, "given_name": {"essential": True}}))
    assert requested_items(request) == [("verified:name", True)]


def test_an_array_of_requests_is_accepted():
    request = where(userinfo=[verified({"name": None}), verified({"birthdate": None})])
    assert requested_items(request) == [("verified:name", False), ("verified:birthdate", False)]


def test_the_parsed_claims_parameter_is_what_requested_items_reads():
    parsed = parse_claims_request(claims_param(userinfo=verified({"address": None})))
    assert requested_items(parsed) == [("verified:address", False)]


def test_claim_purposes_are_collected_for_the_consent_screen():
    request = where(userinfo=verified({"name": ESSENTIAL, "gender": None}))
    assert purposes(request) == {"verified:name": "口座開設の本人確認のため"}


MALFORMED = {
    "null": None,
    "a string": "name",
    "an empty array": [],
    "no verification": {"claims": {"name": None}},
    "no claims": {"verification": {"trust_framework": None}},
    "empty claims": verified({}),
    "claims as null": {"verification": {"trust_framework": None}, "claims": None},
    "no trust_framework": {"verification": {}, "claims": {"name": None}},
    "unknown top member": {**verified({"name": None}), "extra": 1},
    "unknown verification member": verified({"name": None}, colour=None),
    "value and values": verified({"name": None}, {"value": "jp_aml", "values": ["jp_aml"]}),
    "values not a list": verified({"name": None}, {"values": "jp_aml"}),
    "empty values": verified({"name": None}, {"values": []}),
    "value not a string": verified({"name": None}, {"value": 7}),
    "claim spec a string": verified({"name": "yes"}),
    "essential not boolean": verified({"name": {"essential": "true"}}),
    "purpose too short": verified({"name": {"purpose": "ab"}}),
    "purpose too long": verified({"name": {"purpose": "x" * 301}}),
    "purpose not a string": verified({"name": {"purpose": 12345}}),
    "evidence not a list": verified({"name": None}, evidence={"type": None}),
    "evidence without type": verified({"name": None}, evidence=[{"issuer": None}]),
    "evidence type without value": verified({"name": None}, evidence=[{"type": None}]),
    "negative max_age": verified({"name": None}, time={"max_age": -1}),
    "max_age not a number": verified({"name": None}, time={"max_age": "1h"}),
    "array with a bad member": [verified({"name": None}), {"claims": {"name": None}}],
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("location", ["id_token", "userinfo"])
def test_malformed_verified_claims_is_invalid_request(location, value):
    with pytest.raises(InvalidRequestError) as refused:
        requested_items({location: {"verified_claims": value}})
    assert refused.value.error == "invalid_request"
    assert "verified_claims" in refused.value.description


UNSUPPORTED = {
    "unknown trust framework": (verified({"name": None}, {"value": "eidas"}), "eidas"),
    "only unknown frameworks": (
        verified({"name": None}, {"values": ["de_aml", "uk_tfida"]}), "de_aml"
    ),
    "a claim the certificate lacks": (verified({"email": None}), "email"),
    "nationality": (verified({"nationality": None}), "nationality"),
    "document evidence": (
        verified({"name": None}, evidence=[{"type": {"value": "document"}}]),
        "document",
    ),
    "another signature type": (
        verified({"name": None}, evidence=[
            {"type": {"value": "electronic_signature"}, "signature_type": {"value": "qes_eidas"}}
        ]),
        "signature_type",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("value", "named"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_request_is_invalid_request_naming_it(value, named):
    with pytest.raises(InvalidRequestError) as refused:
        requested_items(where(userinfo=value))
    assert named in refused.value.description


def test_a_supported_framework_among_others_is_accepted():
    request = where(userinfo=verified({"name": None}, {"values": ["eidas", "jp_aml"]}))
    assert requested_items(request) == [("verified:name", False)]


def test_verification_members_we_cannot_attest_are_accepted_and_asked_for_nothing():
    request = where(
        userinfo=verified({"name": None}, assurance_level=None, verification_process=None)
    )
    assert requested_items(request) == [("verified:name", False)]


@pytest.mark.parametrize(
    "purpose", [None, "abc", "住宅ローンの審査", "x" * 300, "本人確認\u3000のため"]
)
def test_request_purpose_within_3_to_300_characters_is_kept(purpose):
    assert check_purpose(purpose) == purpose


@pytest.mark.parametrize(
    "purpose",
    ["", "ab", "x" * 301, 12, ["purpose"], "to open\x07 an account", "本人確認\u202eのため"],
)
def test_request_purpose_outside_3_to_300_characters_of_text_is_invalid_request(purpose):
    with pytest.raises(InvalidRequestError):
        check_purpose(purpose)


def test_the_refusal_does_not_echo_the_request():
    private = "私の住所は東京都"
    with pytest.raises(InvalidRequestError) as refused:
        requested_items(where(userinfo={"verification": {}, "claims": {"name": private}}))
    assert private not in refused.value.description
    assert private not in json.dumps(refused.value.get_body(), ensure_ascii=False)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["verification", "claims", "trust_framework", "value", "values", "name",
                         "evidence", "type", "essential", "purpose", "time", "max_age", "氏名"])
        | st.text(max_size=8),
        inner,
        max_size=4,
    ),
    max_leaves=12,
)  # fmt: skip


@given(JSON)
def test_any_value_is_accepted_or_refused_with_a_sendable_description(value):
    """Never another exception, and never a description Authlib would choke on (a 500)."""
    description = ""
    try:
        requested_items({"userinfo": {"verified_claims": value}})
    except InvalidRequestError as refused:
        description = refused.description
    assert VSCHAR.fullmatch(description)
    assert len(description) <= 200


@pytest.mark.parametrize("name", ["氏名", 'a"b', "a\\b", "x" * 1000, "改行\n"])
def test_odd_claim_names_are_refused_with_a_sendable_description(name):
    with pytest.raises(InvalidRequestError) as refused:
        requested_items(where(userinfo=verified({name: None})))
    assert VSCHAR.fullmatch(refused.value.description)
