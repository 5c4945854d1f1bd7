"""Releasing verified claims (OIDC4IDA §5, §6): requested ∩ granted, where asked, nothing more."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.consent.verified_release import release
from idp.oidc.verified_claims import CLAIM_ITEMS, SIGNATURE_TYPE
from tests.verified.helpers import EVERY_ITEM, IDENTITY, verified, where

BANK = {"trust_framework": "jp_aml"}
EVIDENCE = [{"type": {"value": "electronic_signature"}, "created_at": None}]


def test_only_requested_claims_are_released_even_if_more_were_granted():
    request = where(userinfo=verified({"birthdate": None}))
    id_token, userinfo = release(request, IDENTITY, EVERY_ITEM, BANK)
    assert id_token is None
    assert userinfo["claims"] == {"birthdate": "1985-04-01"}


def test_only_granted_claims_are_released_even_if_more_were_requested():
    request = where(userinfo=verified(dict.fromkeys(("name", "address", "gender"))))
    _, userinfo = release(request, IDENTITY, ("verified:address",), BANK)
    assert userinfo["claims"] == {"address": {"formatted": "東京都千代田区霞が関二丁目1番2号"}}


def test_nothing_granted_releases_nothing():
    request = where(id_token=verified({"name": None}), userinfo=verified({"name": None}))
    assert release(request, IDENTITY, ("openid", "claim:name"), BANK) == (None, None)


def test_nothing_requested_releases_nothing():
    assert release({}, IDENTITY, EVERY_ITEM, BANK) == (None, None)
    assert release({"userinfo": {"name": None}}, IDENTITY, EVERY_ITEM, BANK) == (None, None)


def test_id_token_request_goes_to_the_id_token_only():
    id_token, userinfo = release(
        where(id_token=verified({"name": None})), IDENTITY, EVERY_ITEM, BANK
    )
    assert id_token["claims"] == {"name": "山田\u3000花子"}
    assert userinfo is None


def test_each_location_gets_what_it_asked_for():
    request = where(id_token=verified({"name": None}), userinfo=verified({"gender": None}))
    id_token, userinfo = release(request, IDENTITY, EVERY_ITEM, BANK)
    assert id_token["claims"] == {"name": "山田\u3000花子"}
    assert userinfo["claims"] == {"gender": "female"}


def test_claims_are_oidc_core_claims():
    names = {"name", "family_name", "given_name", "address", "birthdate", "gender"}
    _, userinfo = release(
        where(userinfo=verified(dict.fromkeys(names))), IDENTITY, EVERY_ITEM, BANK
    )
    assert userinfo["claims"] == {
        "name": "山田\u3000花子",
        "family_name": "山田",
        "given_name": "花子",
        "address": {"formatted": "東京都千代田区霞が関二丁目1番2号"},
        "birthdate": "1985-04-01",
        "gender": "female",
    }


def test_verification_carries_only_the_trust_framework_unless_more_is_asked():
    _, userinfo = release(where(userinfo=verified({"name": None})), IDENTITY, EVERY_ITEM, BANK)
    assert userinfo["verification"] == {"trust_framework": "jp_aml"}


def test_time_and_evidence_when_asked():
    request = where(userinfo=verified({"name": None}, time=None, evidence=EVIDENCE))
    _, userinfo = release(request, IDENTITY, EVERY_ITEM, BANK)
    assert userinfo["verification"] == {
        "trust_framework": "jp_aml",
        "time": "2026-11-18T11:06:40Z",
        "evidence": [
            {
                "type": "electronic_signature",
                "signature_type": SIGNATURE_TYPE,
                "issuer": "CN=JPKI for digital signature,C=JP",
                "serial_number": "0A1B2C",
                "created_at": "2026-11-18T11:06:40Z",
            }
        ],
    }


def test_evidence_has_its_required_members_and_created_at_only_when_asked():
    evidence = [{"type": {"value": "electronic_signature"}, "issuer": None}]
    _, userinfo = release(
        where(userinfo=verified({"name": None}, evidence=evidence)), IDENTITY, EVERY_ITEM, BANK
    )
    assert userinfo["verification"]["evidence"] == [
        {
            "type": "electronic_signature",
            "signature_type": SIGNATURE_TYPE,
            "issuer": "CN=JPKI for digital signature,C=JP",
            "serial_number": "0A1B2C",
        }
    ]


def test_an_array_request_gets_an_array_of_the_answers_that_release_something():
    request = where(userinfo=[verified({"name": None}), verified({"gender": None})])
    _, userinfo = release(request, IDENTITY, ("verified:gender",), BANK)
    assert userinfo == [
        {"verification": {"trust_framework": "jp_aml"}, "claims": {"gender": "female"}}
    ]


def test_max_age_the_verification_does_not_meet_omits_that_request():
    request = where(userinfo=verified({"name": None}, time={"max_age": 60}))
    now = IDENTITY.signed_at
    assert release(request, IDENTITY, EVERY_ITEM, BANK, now=now + 30)[1] is not None
    assert release(request, IDENTITY, EVERY_ITEM, BANK, now=now + 61)[1] is None


def test_the_four_facts_appear_nowhere_but_in_claims():
    request = where(userinfo=verified({"name": None}, time=None, evidence=EVIDENCE))
    _, userinfo = release(request, IDENTITY, EVERY_ITEM, BANK)
    verification = str(userinfo["verification"])
    for fact in (IDENTITY.name, IDENTITY.address, IDENTITY.birthdate, "山田"):
        assert fact not in verification


CLAIMS = sorted(CLAIM_ITEMS)


@given(
    requested_id=st.sets(st.sampled_from(CLAIMS)),
    requested_userinfo=st.sets(st.sampled_from(CLAIMS)),
    granted=st.sets(st.sampled_from(EVERY_ITEM)),
)
def test_never_anything_not_both_requested_there_and_granted(
    requested_id, requested_userinfo, granted
):
    request = where(
        id_token=verified(dict.fromkeys(requested_id)) if requested_id else None,
        userinfo=verified(dict.fromkeys(requested_userinfo)) if requested_userinfo else None,
    )
    id_token, userinfo = release(request, IDENTITY, tuple(granted), BANK)
    for asked, answer in ((requested_id, id_token), (requested_userinfo, userinfo)):
        allowed = {c for c in asked if "verified:" + CLAIM_ITEMS[c] in granted}
        if not allowed:
            assert answer is None
        else:
            assert set(answer["claims"]) == allowed


@pytest.mark.parametrize(
    ("granted", "released"),
    [
        (combo, {CLAIM_ITEMS[c] for c in CLAIM_ITEMS if "verified:" + CLAIM_ITEMS[c] in combo})
        for r in range(5)
        for combo in itertools.combinations(EVERY_ITEM, r)
    ],
)
def test_every_combination_of_granted_items(granted, released):
    request = where(userinfo=verified(dict.fromkeys(("name", "address", "birthdate", "gender"))))
    _, userinfo = release(request, IDENTITY, granted, BANK)
    assert set((userinfo or {}).get("claims", {})) == released
