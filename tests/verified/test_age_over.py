"""``age_over_NN`` without the birth date: an OpenID Connect Advanced Syntax for Claims
transformed claim inside ``verified_claims``, computed from the verified birth date on the day of
the request (in Japan), consented to as "18歳以上であること（生年月日は提供されません）" and
recorded in the access history as that, never as the birth date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask_babel import force_locale
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.consent.decisions import AUTH_SIGN, CONSENT_SCREEN, ConsentDecision, content_digest
from idp.consent.items import describe
from idp.consent.verified_release import JST, age_over
from idp.oidc.verified_claims import check_request
from idp.services import services
from idp.storage.consents import AccessRecord
from idp.storage.db import db
from tests.cardless import TEST_IDENTITY
from tests.oidc.test_consent_core import DecidingScreen
from tests.verified.helpers import verified

OVER_18 = {"claim": "birthdate", "fn": ["years_ago", ["gte", 18]]}
OVER_20 = {"claim": "birthdate", "fn": ["years_ago", ["gte", 20]]}
CARRIER = {"trust_framework": "jp_mpiupa"}


def _asking(where: str = "userinfo", **transformed) -> dict:
    names = {f":{name}": None for name in transformed}
    return {
        "transformed_claims": transformed or {"age_over_18": OVER_18},
        where: {"verified_claims": verified(names or {":age_over_18": None})},
    }


def _at(day: str) -> float:
    """Noon in Japan on ``day``."""
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=JST).timestamp()


def _years_ago(years: int, days: int = 0) -> str:
    today = dt.datetime.now(JST).date()
    return (today.replace(year=today.year - years) + dt.timedelta(days=days)).isoformat()


# --- the computation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthdate", "day", "years", "over"),
    [
        ("2008-05-10", "2026-05-10", 18, True),  # the 18th birthday
        ("2008-05-10", "2026-05-09", 18, False),  # the day before
        ("2010-05-10", "2026-12-07", 18, False),  # sixteen
        ("1980-04-01", "2026-12-07", 20, True),
        ("2008-02-29", "2026-02-28", 18, False),  # born on 29 February: 1 March in other years
        ("2008-02-29", "2026-03-01", 18, True),
        ("2004-02-29", "2022-02-28", 18, False),
    ],
)
def test_age_over_counts_birthdays_as_japanese_law_does(birthdate, day, years, over):
    assert age_over(birthdate, years, _at(day)) is over


def test_the_day_is_the_day_in_japan():
    """00:30 on the birthday in Japan is still the day before in UTC."""
    moment = dt.datetime(2026, 5, 10, 0, 30, tzinfo=JST).timestamp()
    assert age_over("2008-05-10", 18, moment) is True
    assert age_over("2008-05-10", 18, moment - 3600) is False


# --- the request ---------------------------------------------------------------------------------


def test_a_supported_age_request_is_accepted():
    assert check_request(_asking(age_over_18=OVER_18, age_over_20=OVER_20), CARRIER) == (
        "jp_mpiupa"
    )


@pytest.mark.parametrize(
    "transformed",
    [
        {"age_over_21": {"claim": "birthdate", "fn": ["years_ago", ["gte", 21]]}},  # NN not offered
        {"age_over_18": {"claim": "name", "fn": ["years_ago", ["gte", 18]]}},
        {"age_over_18": {"claim": "birthdate", "fn": ["years_ago", ["lt", 18]]}},
        {"age_over_18": {"claim": "birthdate", "fn": ["years_ago", ["gte", "18"]]}},
        {"age_over_18": {"claim": "birthdate", "fn": ["years_ago", ["gte", True]]}},
        {"age_over_18": {"claim": "birthdate", "fn": ["years_ago"]}},
        {"age_over_18": {"claim": "birthdate"}},
        {"adult": OVER_18},  # named otherwise than its meaning
        {"age_over_18": OVER_20},
    ],
)
def test_an_unsupported_transformation_is_invalid_request(transformed):
    name = next(iter(transformed))
    request = {
        "transformed_claims": transformed,
        "userinfo": {"verified_claims": verified({f":{name}": None})},
    }
    with pytest.raises(InvalidRequestError, match="transformed claim"):
        check_request(request, CARRIER)


def test_a_reference_to_an_undefined_transformed_claim_is_refused():
    request = {"userinfo": {"verified_claims": verified({":age_over_18": None})}}
    with pytest.raises(InvalidRequestError, match="cannot be verified"):
        check_request(request, CARRIER)


def test_malformed_transformed_claims_are_refused_at_the_endpoint(carrier):
    for bad in ('"x"', "[1]", '{"age_over_18": 3}'):
        raw = '{"transformed_claims": ' + bad + ', "userinfo": {}}'
        params = _query(carrier.authorize(claims=raw, state="s"))
        assert params["error"] == "invalid_request", bad


# --- through the endpoints -----------------------------------------------------------------------


@pytest.fixture
def screen(provider):
    """``screen(decide)``: the consent screen answers with ``decide``."""

    def install(decide) -> DecidingScreen:
        services(provider)[CONSENT_SCREEN] = chosen = DecidingScreen(decide)
        return chosen

    return install


@pytest.fixture
def carrier(make_rp):
    return make_rp(trust_framework="jp_mpiupa", purpose="携帯電話の契約時の年齢確認")


def _query(response) -> dict:
    from tests.oidc.rp import query

    return query(response.headers["Location"])


def _with_birthdate(birthdate: str):
    def decide(request):
        granted = tuple(i.id for i in request.items)
        evidence = {"content_digest": content_digest(request, granted)}
        identity = dataclasses.replace(
            TEST_IDENTITY, birthdate=birthdate, signed_at=int(time.time())
        )
        return ConsentDecision(granted, AUTH_SIGN, evidence, identity=identity)

    return decide


def _userinfo(rp, tokens) -> dict:
    response = rp.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert response.status_code == 200
    return response.json


@pytest.mark.parametrize(
    ("birthdate", "over_18", "over_20"),
    [
        ("1980-04-01", True, True),  # an adult
        (_years_ago(16), False, False),  # sixteen today
        (_years_ago(18), True, False),  # eighteen today
        (_years_ago(18, days=1), False, False),  # eighteen tomorrow
    ],
)
def test_a_carrier_learns_the_age_and_not_the_birth_date(
    provider, carrier, screen, birthdate, over_18, over_20
):
    chosen = screen(_with_birthdate(birthdate))
    asked = _asking(age_over_18=OVER_18, age_over_20=OVER_20)
    tokens = carrier.tokens(scope="openid", claims=json.dumps(asked))
    body = _userinfo(carrier, tokens)
    assert body["verified_claims"] == {
        "verification": {"trust_framework": "jp_mpiupa"},
        "claims": {":age_over_18": over_18, ":age_over_20": over_20},
    }
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    id_token = jwt.decode(tokens["id_token"], keys).claims
    everything = json.dumps([body, id_token], ensure_ascii=False)
    assert birthdate not in everything
    assert "birthdate" not in everything
    assert birthdate[:4] not in everything  # not even the year
    [request] = chosen.seen
    assert [i.id for i in request.items] == [
        "openid",
        "verified:age_over_18",
        "verified:age_over_20",
    ]


def test_the_consent_line_says_the_birth_date_is_not_given(provider):
    with provider.test_request_context():
        with force_locale("ja"):
            assert describe("verified:age_over_18") == (
                "18歳以上であること（生年月日は提供されません）"
            )
            assert describe("verified:age_over_20").startswith("20歳以上であること")
        with force_locale("en"):
            assert describe("verified:age_over_18") == (
                "That you are 18 or over (your date of birth is not given)"
            )


def test_the_access_history_records_the_age_not_the_birth_date(provider, carrier, screen):
    screen(_with_birthdate(_years_ago(16)))
    tokens = carrier.tokens(scope="openid", claims=json.dumps(_asking()))
    _userinfo(carrier, tokens)
    with provider.app_context():
        records = db.session.execute(sa.select(AccessRecord)).scalars().all()
        kinds = {r.kind: r.item.split() for r in records}
    assert kinds["userinfo"] == ["verified:age_over_18"]
    assert "verified:birthdate" not in " ".join(" ".join(v) for v in kinds.values())


def test_the_age_in_the_id_token_too(provider, carrier, screen):
    screen(_with_birthdate("1980-04-01"))
    tokens = carrier.tokens(scope="openid", claims=json.dumps(_asking("id_token")))
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["verified_claims"]["claims"] == {":age_over_18": True}
    assert "verified_claims" not in _userinfo(carrier, tokens)


def test_discovery_says_transformed_claims_are_supported(provider):
    doc = provider.test_client().get("/.well-known/openid-configuration").json
    assert doc["transformed_claims_supported"] is True
    assert doc["transformed_claims_functions_supported"] == ["years_ago", "gte"]


def test_the_consent_screen_says_the_birth_date_is_read_but_not_sent(provider):
    from idp.consent.items import verified_facts

    with provider.test_request_context(), force_locale("en"):
        assert verified_facts(["openid", "verified:age_over_18"]) == "date of birth"
        assert verified_facts(["verified:birthdate", "verified:age_over_20"]) == "date of birth"
        assert verified_facts(["openid"]) == ""
