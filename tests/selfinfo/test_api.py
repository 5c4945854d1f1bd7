"""GET /selfinfo/v1/<category>: token, scope, live consent, DPoP; one access record per read.

Tokens here are minted as the token endpoint mints them (samples.mint_token) so each check can
fail on its own; test_flow.py runs the same reads after a real authorization-code flow.
"""

from __future__ import annotations

import logging
import time

import pytest
from joserfc.jwk import ECKey

from idp.oidc.claims import SELFINFO_CATEGORIES, SELFINFO_SCOPES
from idp.oidc.dpop import access_token_hash
from idp.storage.consents import AccessRecord, Consent
from idp.storage.db import db
from tests.oidc.rp import ISSUER, dpop_proof
from tests.selfinfo.samples import SAMPLES, make_account, make_client, make_consent, mint_token

ALL_SCOPES = " ".join(["openid", *SELFINFO_SCOPES])


def _get(http, category, token, scheme="Bearer", **headers):
    auth = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return http.get(f"/selfinfo/v1/{category}", headers={**auth, **headers})


def _records(app):
    with app.app_context():
        rows = db.session.execute(db.select(AccessRecord).order_by(AccessRecord.id)).scalars()
        return [
            (r.account_id, r.client_id, r.client_name, r.kind, r.item, r.consent_id) for r in rows
        ]


@pytest.fixture
def token(app, account, client_id, consent):
    return mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES
    )


@pytest.mark.parametrize("category", SELFINFO_CATEGORIES)
def test_each_category_is_read_with_pairwise_sub_and_recorded(
    app, http, account, client_id, consent, token, category
):
    access_token, sub = token
    response = _get(http, category, access_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {
        "sub": sub,
        "category": category,
        "as_of": "2026-06-01",
        "data": SAMPLES[category],
    }
    assert sub != account
    assert response.headers["Cache-Control"] == "no-store"
    assert _records(app) == [
        (account, client_id, "Bank", "selfinfo", f"selfinfo:{category}", consent)
    ]


def test_response_follows_the_published_envelope_and_category_schemas(http, token):
    from jsonschema import Draft202012Validator

    for category in SELFINFO_CATEGORIES:
        body = _get(http, category, token[0]).json
        envelope = http.get("/selfinfo/v1/schemas/response.json")
        assert envelope.mimetype == "application/schema+json"
        Draft202012Validator(envelope.json).validate(body)
        Draft202012Validator(http.get(f"/selfinfo/v1/schemas/{category}.json").json).validate(
            body["data"]
        )


def test_every_read_is_recorded_again(app, http, token):
    for _ in range(3):
        assert _get(http, "income", token[0]).status_code == 200
    assert [r[4] for r in _records(app)] == ["selfinfo:income"] * 3


def test_unknown_category_is_404_json(http, token):
    response = _get(http, "my_number", token[0])
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_no_data_for_the_category_is_404_and_not_recorded(app, http, client_id):
    account = make_account(app)  # no data at all
    consent = make_consent(app, account, client_id, ["openid", "selfinfo:pension"])
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope="selfinfo:pension"
    )
    response = _get(http, "pension", token)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert _records(app) == []


def test_token_without_the_category_scope_is_403_insufficient_scope(
    app, http, account, client_id, consent
):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent,
        scope="openid selfinfo:income",
    )  # fmt: skip
    assert _get(http, "income", token).status_code == 200
    response = _get(http, "household", token)
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="selfinfo:household"' in challenge
    assert [r[4] for r in _records(app)] == ["selfinfo:income"]


def test_token_without_consent_is_401(app, http, account, client_id):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=None, scope=ALL_SCOPES
    )
    response = _get(http, "income", token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "consent" in response.json["error_description"]
    assert _records(app) == []


def test_consent_of_unknown_id_is_401(app, http, account, client_id):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id="no-such", scope=ALL_SCOPES
    )
    assert _get(http, "income", token).status_code == 401


def test_consent_not_covering_the_category_is_401(app, http, account, client_id):
    consent = make_consent(app, account, client_id, ["openid", "selfinfo:income"])
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES
    )
    assert _get(http, "income", token).status_code == 200
    assert _get(http, "pension", token).status_code == 401


def test_consent_of_another_account_or_client_is_401(app, http, account, client_id):
    other_account = make_account(app)
    other_client = make_client(app, "Other")
    for consent in (
        make_consent(app, other_account, client_id, ["selfinfo:income"]),
        make_consent(app, account, other_client, ["selfinfo:income"]),
    ):
        token, _ = mint_token(
            app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES
        )
        assert _get(http, "income", token).status_code == 401
    assert _records(app) == []


def test_revoked_consent_stops_the_next_read_at_once(app, http, consent, token):
    assert _get(http, "income", token[0]).status_code == 200
    with app.app_context():
        db.session.get(Consent, consent).revoked_at = int(time.time())
        db.session.commit()
    response = _get(http, "income", token[0])
    assert response.status_code == 401
    assert "withdrawn" in response.json["error_description"]
    assert len(_records(app)) == 1


def test_expired_consent_is_401(app, http, account, client_id):
    consent = make_consent(app, account, client_id, ["selfinfo:income"], expires_in=-1)
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES
    )
    assert _get(http, "income", token).status_code == 401


def test_expired_token_is_401(app, http, account, client_id, consent):
    now = int(time.time())
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES,
        iat=now - 600, exp=now - 10,
    )  # fmt: skip
    response = _get(http, "income", token)
    assert response.status_code == 401
    assert _records(app) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://another-resource.example"},
        {"iss": "https://another-issuer.example"},
        {"aud": None},
        {"sub": "someone-else"},
    ],
)
def test_token_of_another_audience_or_issuer_is_401(
    app, http, account, client_id, consent, changes
):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES,
        **changes,
    )  # fmt: skip
    assert _get(http, "income", token).status_code == 401


def test_token_of_a_removed_client_is_401(app, http, client_id, token):
    from idp.oidc.clients import remove_client

    with app.app_context():
        remove_client(client_id)
    assert _get(http, "income", token[0]).status_code == 401


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Basic abc", "Bearer not.a.jwt", "Bearer " + "a" * 5000]
)
def test_missing_or_malformed_token_is_401(http, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = http.get("/selfinfo/v1/income", headers=headers)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    challenges = response.headers.getlist("WWW-Authenticate")
    assert challenges
    if authorization is None:  # RFC 6750 §3.1: no error code when no token was presented
        assert {c.split()[0] for c in challenges} == {"Bearer", "DPoP"}
        assert all("error=" not in c for c in challenges)


def test_only_get_is_answered(http, token):
    response = http.post("/selfinfo/v1/income", headers={"Authorization": f"Bearer {token[0]}"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json["error"] == "invalid_request"


def test_unknown_schema_is_404(http):
    assert http.get("/selfinfo/v1/schemas/nothing.json").status_code == 404


# DPoP-bound tokens (RFC 9449 §7)


@pytest.fixture
def dpop_key():
    return ECKey.generate_key("P-256")


@pytest.fixture
def bound(app, account, client_id, consent, dpop_key):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent, scope=ALL_SCOPES,
        jkt=dpop_key.thumbprint(),
    )  # fmt: skip
    return token


def _proof(key, token, category="income", **changes):
    url = f"{ISSUER}/selfinfo/v1/{category}"
    return dpop_proof(key, "GET", url, **{"ath": access_token_hash(token), **changes})


def test_dpop_bound_token_with_its_proof_is_read(app, http, bound, dpop_key):
    response = _get(http, "income", bound, "DPoP", DPoP=_proof(dpop_key, bound))
    assert response.status_code == 200
    assert len(_records(app)) == 1


def test_dpop_bound_token_without_proof_is_401(app, http, bound):
    response = _get(http, "income", bound, "DPoP")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("DPoP ")
    assert 'error="invalid_dpop_proof"' in response.headers["WWW-Authenticate"]
    assert _records(app) == []


def test_dpop_bound_token_with_another_key_is_401(http, bound):
    other = ECKey.generate_key("P-256")
    response = _get(http, "income", bound, "DPoP", DPoP=_proof(other, bound))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("DPoP ")


def test_dpop_bound_token_presented_as_bearer_is_401(http, bound, dpop_key):
    response = _get(http, "income", bound, "Bearer", DPoP=_proof(dpop_key, bound))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    "changes",
    [
        {"htu": ISSUER + "/selfinfo/v1/pension"},
        {"htm": "POST"},
        {"ath": "wrong"},
        {"iat": int(time.time()) - 600},
    ],
)
def test_dpop_proof_for_another_request_is_401(http, bound, dpop_key, changes):
    response = _get(http, "income", bound, "DPoP", DPoP=_proof(dpop_key, bound, **changes))
    assert response.status_code == 401


def test_replayed_dpop_proof_is_401(http, bound, dpop_key):
    proof = _proof(dpop_key, bound)
    assert _get(http, "income", bound, "DPoP", DPoP=proof).status_code == 200
    assert _get(http, "income", bound, "DPoP", DPoP=proof).status_code == 401


def test_insufficient_scope_on_a_bound_token_challenges_with_dpop(
    app, http, account, client_id, consent, dpop_key
):
    token, _ = mint_token(
        app, account_id=account, client_id=client_id, consent_id=consent,
        scope="selfinfo:income", jkt=dpop_key.thumbprint(),
    )  # fmt: skip
    response = _get(http, "pension", token, "DPoP", DPoP=_proof(dpop_key, token, "pension"))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].startswith("DPoP ")


def test_a_read_is_audited_with_category_and_client_only(http, client_id, token, caplog):
    with caplog.at_level(logging.INFO, logger="idp.audit"):
        assert _get(http, "income", token[0]).status_code == 200
    [read] = [vars(r) for r in caplog.records if r.name == "idp.audit"]
    assert (read["event"], read["via"], read["items"]) == ("data.provided", "selfinfo",
                                                           ["selfinfo:income"])  # fmt: skip
    assert read["client_id"] == client_id
