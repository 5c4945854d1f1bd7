"""Per-claim purposes (OIDC4IDA ``purpose`` in an individual claim request): checked at the
authorization request, carried on each consent item for the screen, bound by a card signature,
and never part of what a remembered consent is matched on."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.consent.decisions import (
    AUTH_SIGN,
    CONSENT_SCREEN,
    ConsentDecision,
    ConsentItem,
    ConsentRequest,
    content_digest,
)
from idp.consent.verified_release import purposes
from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from idp.oidc.verified_claims import check_request
from idp.services import services
from tests.oidc.rp import query
from tests.oidc.test_consent_core import DecidingScreen, consents, everything
from tests.verified.helpers import IDENTITY, verified, where

NAME_PURPOSE = "口座開設の本人確認のため"
ADDRESS_PURPOSE = "郵便物の送付先として"


def claims(**locations) -> str:
    return json.dumps(locations, ensure_ascii=False)


def test_purposes_of_ordinary_and_verified_claims_are_collected_first_one_winning():
    request = {
        "id_token": {
            "email": {"purpose": "ご連絡のため"},
            "verified_claims": verified({"given_name": {"purpose": NAME_PURPOSE}}),
        },
        "userinfo": {
            "email": {"purpose": "ほかの目的"},
            "phone_number": None,
            "verified_claims": [
                verified({"family_name": {"purpose": "二番目の目的"}, "address": None}),
                verified({"address": {"essential": True, "purpose": ADDRESS_PURPOSE}}),
            ],
        },
    }
    assert purposes(request) == {
        "claim:email": "ご連絡のため",
        "verified:name": NAME_PURPOSE,
        "verified:address": ADDRESS_PURPOSE,
    }


def test_a_request_without_purposes_has_none():
    assert purposes({}) == {}
    assert purposes(where(userinfo=verified({"name": None, "gender": {"essential": True}}))) == {}


@pytest.mark.parametrize("purpose", ["abc", "x" * 300, "お名前\u3000確認"])
def test_a_purpose_of_3_to_300_characters_is_accepted(purpose):
    request = {"userinfo": {"email": {"purpose": purpose}}}
    assert check_request(request, {}) is None
    assert purposes(request) == {"claim:email": purpose}


BAD = {
    "2 characters": "ab",
    "301 characters": "x" * 301,
    "a number": 12345,
    "null": None,
    "a list": ["to open your account"],
    "a control character": "to open\x07 an account",
    "a bidi override": "to open \u202ean account",
}


@pytest.mark.parametrize("purpose", BAD.values(), ids=BAD.keys())
def test_a_bad_ordinary_claim_purpose_is_refused_before_anything_is_shown(purpose):
    with pytest.raises(InvalidRequestError) as refused:
        check_request({"userinfo": {"email": {"purpose": purpose}}}, {})
    assert refused.value.error == "invalid_request"
    assert "purpose" in refused.value.description
    assert "email" in refused.value.description


@pytest.mark.parametrize("purpose", BAD.values(), ids=BAD.keys())
def test_a_bad_verified_claim_purpose_is_refused(purpose):
    request = where(id_token=verified({"given_name": {"purpose": purpose}}, {"value": "jp_aml"}))
    with pytest.raises(InvalidRequestError) as refused:
        check_request(request, {})
    assert refused.value.error == "invalid_request"


@pytest.fixture
def screen(provider):
    """``screen(decide)``: the consent screen answers with ``decide`` and records each request."""

    def install(decide) -> DecidingScreen:
        services(provider)[CONSENT_SCREEN] = chosen = DecidingScreen(decide)
        return chosen

    return install


@pytest.fixture
def bank(make_rp):
    return make_rp(trust_framework="jp_aml", purpose="口座開設の本人確認", retention_days=2555)


@pytest.mark.parametrize("purpose", ["ab", "x" * 301, 7, "<b>\x00</b>"])
@pytest.mark.parametrize("verified_claim", [True, False], ids=["verified", "ordinary"])
def test_a_bad_claim_purpose_is_invalid_request_at_authorize(bank, screen, purpose, verified_claim):
    chosen = screen(everything)
    if verified_claim:
        asked = claims(userinfo={"verified_claims": verified({"name": {"purpose": purpose}})})
        response = bank.authorize(claims=asked, acr_values=ACR_SIGN_IDENTITY)
    else:
        response = bank.authorize(claims=claims(userinfo={"name": {"purpose": purpose}}))
    assert response.status_code == 302, response.get_data(as_text=True)
    params = query(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params
    assert chosen.seen == []  # refused before the login and the screen


def _all_with_identity(request: ConsentRequest) -> ConsentDecision:
    granted = tuple(i.id for i in request.items)
    evidence = {"content_digest": content_digest(request, granted)}
    return ConsentDecision(granted, AUTH_SIGN, evidence, identity=IDENTITY)


def test_each_item_carries_its_own_purpose_to_the_screen(bank, screen):
    chosen = screen(_all_with_identity)
    asked = claims(
        userinfo={
            "name": {"purpose": "宛名の表示のため"},
            "family_name": None,
            "verified_claims": verified({"birthdate": {"purpose": "年齢確認のため"}}),
        },
        id_token={"verified_claims": verified({"gender": None})},
    )
    bank.tokens(scope="openid", claims=asked, acr_values=ACR_SIGN_IDENTITY)
    [request] = chosen.seen
    assert request.item("claim:name").purpose == "宛名の表示のため"
    assert request.item("claim:family_name").purpose is None
    assert request.item("verified:birthdate").purpose == "年齢確認のため"
    assert request.item("verified:gender").purpose is None
    assert request.item("openid").purpose is None
    assert request.purpose == "口座開設の本人確認"  # the request-wide one stays


def test_a_remembered_consent_matches_whatever_the_claim_purposes(provider, bank, screen):
    """Rule: a remembered consent is matched on the items' ids and the request-wide purpose;
    per-claim purposes are shown when the screen is, never stored with the items."""
    chosen = screen(everything)
    first = claims(userinfo={"name": {"purpose": "宛名の表示のため"}, "given_name": None})
    bank.tokens(scope="openid", claims=first)
    second = claims(userinfo={"name": {"purpose": "まったく別の目的"}, "given_name": None})
    token = bank.tokens(scope="openid", claims=second)
    assert token["access_token"]
    assert len(chosen.seen) == 1  # answered from memory
    [consent] = consents(provider)
    assert all(item.startswith(("openid", "claim:")) for item in consent.granted())
    assert not any("目的" in item for item in consent.granted())


def _request(*items: ConsentItem) -> ConsentRequest:
    return ConsentRequest(
        id="t" * 43,
        account_id="a",
        client_id="c",
        client_name="Sample Bank",
        purpose="口座開設",
        retention_days=30,
        items=(ConsentItem("openid", True), *items),
        expires_at=1_800_000_000,
    )


def test_items_compare_by_id_and_survive_the_pending_store_with_their_purpose():
    item = ConsentItem("verified:name", False, NAME_PURPOSE)
    assert item == ConsentItem("verified:name", False, "another purpose")
    assert ConsentItem(**dataclasses.asdict(item)).purpose == NAME_PURPOSE


def test_a_card_signature_binds_the_purposes_of_what_it_approves():
    plain = _request(ConsentItem("verified:name"), ConsentItem("verified:gender"))
    shown = _request(ConsentItem("verified:name", purpose=NAME_PURPOSE), plain.items[2])
    other = _request(ConsentItem("verified:name", purpose="別の目的"), plain.items[2])
    granted = ("openid", "verified:name")
    assert content_digest(shown, granted) != content_digest(plain, granted)
    assert content_digest(shown, granted) != content_digest(other, granted)
    # An unapproved item's purpose binds nothing; without purposes the digest is unchanged.
    assert content_digest(shown, ("openid",)) == content_digest(plain, ("openid",))
    v1 = {
        "v": 1,
        "transaction": plain.id,
        "client_id": "c",
        "items": sorted(granted),
        "purpose": "口座開設",
        "retention_days": 30,
        "expires_at": 1_800_000_000,
    }
    canonical = json.dumps(v1, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_digest(plain, granted) == hashlib.sha256(canonical.encode()).hexdigest()
