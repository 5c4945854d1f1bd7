"""Verified claims through the real endpoints (Flask test client, testing authenticator).

The testing consent screen approves every item with a fixed identity; ``Partial`` approves all
but some items, as a citizen unticking them would. The ID token and userinfo must carry exactly
what was requested and approved, where it was requested, and the database only the record of
how the identity was verified.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.consent.consenting import finish_consent
from idp.consent.decisions import AUTH_SIGN, CONSENT_SCREEN, ConsentDecision, content_digest
from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from idp.services import services
from idp.storage.db import db
from idp.storage.verifications import IdentityVerification
from tests.cardless import TEST_IDENTITY
from tests.oidc.rp import query
from tests.verified.helpers import claims_param, verified

EVIDENCE = [{"type": {"value": "electronic_signature"}, "created_at": None}]

FACTS = (TEST_IDENTITY.name, TEST_IDENTITY.address, TEST_IDENTITY.birthdate)


class Bank:
    """A jp_aml client that asks for the signing certificate's acr with its verified claims."""

    def __init__(self, rp) -> None:
        self.rp, self.http, self.client_id = rp, rp.http, rp.client_id

    def authorize(self, **params):
        return self.rp.authorize(acr_values=ACR_SIGN_IDENTITY, **params)

    def tokens(self, **params) -> dict:
        return self.rp.tokens(acr_values=ACR_SIGN_IDENTITY, **params)


@pytest.fixture
def bank(make_rp):
    rp = make_rp(trust_framework="jp_aml", purpose="口座開設の本人確認", retention_days=2555)
    return Bank(rp)


def _id_token(provider, tokens) -> dict:
    keys = KeySet.import_key_set(provider.test_client().get("/jwks").json)
    return jwt.decode(tokens["id_token"], keys).claims


def _userinfo(rp, tokens) -> dict:
    response = rp.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _rows(provider) -> list[IdentityVerification]:
    with provider.app_context():
        return list(db.session.execute(db.select(IdentityVerification)).scalars())


def test_verified_claims_in_the_id_token_as_requested(provider, bank):
    request = verified({"name": None, "birthdate": None}, time=None, evidence=EVIDENCE)
    tokens = bank.tokens(claims=claims_param(id_token=request))
    claims = _id_token(provider, tokens)
    verified_claims = claims["verified_claims"]
    assert verified_claims["claims"] == {"name": TEST_IDENTITY.name, "birthdate": "1980-04-01"}
    verification = verified_claims["verification"]
    assert verification["trust_framework"] == "jp_aml"
    assert verification["time"].endswith("Z")
    (evidence,) = verification["evidence"]
    assert evidence["type"] == "electronic_signature"
    assert (evidence["issuer"], evidence["serial_number"]) == (
        TEST_IDENTITY.issuer,
        TEST_IDENTITY.serial,
    )
    assert claims["acr"] == ACR_SIGN_IDENTITY
    assert "verified_claims" not in _userinfo(bank, tokens)


def test_verified_claims_in_userinfo_as_requested(provider, bank):
    request = verified({"address": None, "gender": None}, {"value": "jp_mpiupa"})
    tokens = bank.tokens(claims=claims_param(userinfo=request))
    assert "verified_claims" not in _id_token(provider, tokens)
    body = _userinfo(bank, tokens)
    assert body["verified_claims"] == {
        "verification": {"trust_framework": "jp_mpiupa"},
        "claims": {"address": {"formatted": TEST_IDENTITY.address}, "gender": "male"},
    }


def test_no_verified_claims_and_no_record_when_none_are_requested(provider, bank):
    tokens = bank.rp.tokens()
    assert "verified_claims" not in _id_token(provider, tokens)
    assert "verified_claims" not in _userinfo(bank, tokens)
    assert _rows(provider) == []


def test_the_signing_acr_alone_releases_no_claims_but_is_recorded(provider, bank):
    tokens = bank.tokens()
    claims = _id_token(provider, tokens)
    assert claims["acr"] == ACR_SIGN_IDENTITY
    assert "verified_claims" not in claims
    assert "verified_claims" not in _userinfo(bank, tokens)
    (row,) = _rows(provider)
    assert (row.trust_framework, row.certificate_serial) == ("jp_aml", TEST_IDENTITY.serial)


def test_verified_claims_without_acr_values_raise_the_acr(provider, bank):
    tokens = bank.rp.tokens(claims=claims_param(id_token=verified({"name": None})))
    claims = _id_token(provider, tokens)
    assert claims["acr"] == ACR_SIGN_IDENTITY
    assert claims["verified_claims"]["claims"] == {"name": TEST_IDENTITY.name}


def test_a_verification_is_recorded_without_personal_data(provider, bank):
    request = verified(dict.fromkeys(("name", "address", "birthdate", "gender")))
    before = int(time.time())
    bank.tokens(claims=claims_param(userinfo=request))
    (row,) = _rows(provider)
    assert (row.client_id, row.trust_framework, row.method) == (
        bank.client_id,
        "jp_aml",
        "electronic_signature",
    )
    assert (row.certificate_issuer, row.certificate_serial) == (
        TEST_IDENTITY.issuer,
        TEST_IDENTITY.serial,
    )
    assert row.consent_id
    assert row.verified_at >= before
    stored = " ".join(str(getattr(row, c.key)) for c in IdentityVerification.__table__.c)
    assert not [fact for fact in (*FACTS, "テスト", "千代田") if fact in stored]


class Partial:
    """A citizen who approves everything except ``refused``."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused

    def begin(self, request):
        identity = dataclasses.replace(TEST_IDENTITY, signed_at=int(time.time()))
        granted = tuple(i.id for i in request.items if i.id not in self.refused)
        evidence = {"content_digest": content_digest(request, granted)}
        decision = ConsentDecision(granted, AUTH_SIGN, evidence, identity)
        return finish_consent(request.id, decision)


def test_a_claim_the_citizen_did_not_approve_is_never_released(provider, bank):
    services(provider)[CONSENT_SCREEN] = Partial({"verified:address", "verified:birthdate"})
    request = verified(dict.fromkeys(("name", "address", "birthdate")))
    tokens = bank.tokens(claims=claims_param(userinfo=request, id_token=request))
    for answer in (_id_token(provider, tokens), _userinfo(bank, tokens)):
        assert answer["verified_claims"]["claims"] == {"name": TEST_IDENTITY.name}


def test_nothing_approved_releases_no_verified_claims(provider, bank):
    services(provider)[CONSENT_SCREEN] = Partial({"verified:name"})
    tokens = bank.tokens(claims=claims_param(userinfo=verified({"name": None})))
    assert "verified_claims" not in _userinfo(bank, tokens)


REFUSED = {
    "unknown trust framework": claims_param(userinfo=verified({"name": None}, {"value": "eidas"})),
    "unsupported claim": claims_param(userinfo=verified({"email": None})),
    "no claims": claims_param(userinfo={"verification": {"trust_framework": None}, "claims": {}}),
    "exclusive frameworks": claims_param(
        id_token=verified({"name": None}, {"value": "jp_aml"}),
        userinfo=verified({"name": None}, {"value": "jp_mpiupa"}),
    ),
}


@pytest.mark.parametrize("claims", REFUSED.values(), ids=REFUSED.keys())
def test_an_unsatisfiable_request_is_invalid_request_at_the_client(provider, bank, claims):
    response = bank.authorize(claims=claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    params = query(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params
    assert _rows(provider) == []


def test_a_client_without_a_framework_must_name_one(provider, make_rp):
    rp = Bank(make_rp())
    response = rp.authorize(claims=claims_param(userinfo=verified({"name": None})))
    assert query(response.headers["Location"])["error"] == "invalid_request"
    tokens = rp.tokens(claims=claims_param(userinfo=verified({"name": None}, {"value": "jp_aml"})))
    assert _userinfo(rp, tokens)["verified_claims"]["verification"]["trust_framework"] == "jp_aml"


@pytest.mark.parametrize("purpose", ["ab", "x" * 301])
def test_a_request_purpose_outside_3_to_300_characters_is_invalid_request(bank, purpose):
    response = bank.authorize(
        claims=claims_param(userinfo=verified({"name": None})), purpose=purpose
    )
    assert query(response.headers["Location"])["error"] == "invalid_request"


def test_a_pushed_request_carries_verified_claims(provider, bank):
    pushed = bank.rp.push(
        acr_values=ACR_SIGN_IDENTITY, claims=claims_param(userinfo=verified({"gender": None}))
    )
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    response = bank.http.get(
        "/authorize",
        query_string={"client_id": bank.client_id, "request_uri": pushed.json["request_uri"]},
    )
    code = query(response.headers["Location"])["code"]
    tokens = bank.rp.token(code).json
    assert _userinfo(bank, tokens)["verified_claims"]["claims"] == {"gender": "male"}


def test_a_pushed_unsatisfiable_request_is_refused_at_the_par_endpoint(bank):
    pushed = bank.rp.push(claims=REFUSED["unknown trust framework"])
    assert pushed.status_code == 400
    assert pushed.json["error"] == "invalid_request"
