"""DPoP (RFC 9449): nonces, replay, htu/htm/ath, and key binding through PAR and dpop_jkt."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc.jwk import ECKey

from idp.oidc.dpop import access_token_hash
from tests.oidc.rp import ISSUER, dpop_proof, query

TOKEN = ISSUER + "/token"
USERINFO = ISSUER + "/userinfo"


@pytest.fixture
def key():
    return ECKey.generate_key("P-256")


def _nonce(rp, key) -> str:
    """The server nonce, learnt the way a client learns it: from a use_dpop_nonce error."""
    response = rp.token("unused-code", extra_headers={"DPoP": dpop_proof(key, "POST", TOKEN)})
    assert response.json["error"] == "use_dpop_nonce"
    return response.headers["DPoP-Nonce"]


def _dpop_tokens(rp, key, **authorize):
    code = rp.login_code(**authorize)
    proof = dpop_proof(key, "POST", TOKEN, nonce=_nonce(rp, key))
    response = rp.token(code, extra_headers={"DPoP": proof})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _userinfo(rp, key, token, scheme="DPoP", **proof_changes):
    changes = {"ath": access_token_hash(token), **proof_changes}
    proof = dpop_proof(key, "GET", USERINFO, **changes)
    return rp.http.get("/userinfo", headers={"Authorization": f"{scheme} {token}", "DPoP": proof})


def test_token_request_without_nonce_gets_use_dpop_nonce(rp, key):
    response = rp.token(rp.login_code(), extra_headers={"DPoP": dpop_proof(key, "POST", TOKEN)})
    assert (response.status_code, response.json["error"]) == (400, "use_dpop_nonce")
    assert response.headers["DPoP-Nonce"]


def test_dpop_bound_tokens_and_userinfo(rp, key):
    tokens = _dpop_tokens(rp, key)
    assert tokens["token_type"] == "DPoP"  # noqa: S105
    assert _userinfo(rp, key, tokens["access_token"]).status_code == 200


def test_bound_token_is_refused_with_bearer_scheme(rp, key):
    tokens = _dpop_tokens(rp, key)
    response = rp.http.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert response.status_code == 401


def test_bound_token_with_another_key_is_refused(rp, key):
    tokens = _dpop_tokens(rp, key)
    assert _userinfo(rp, ECKey.generate_key("P-256"), tokens["access_token"]).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"ath": "wrong"},
        {"ath": None},
        {"htu": ISSUER + "/other"},
        {"htm": "POST"},
        {"iat": int(time.time()) - 600},
        {"h_typ": "JWT"},
        {"jti": None},
    ],
)
def test_bad_proof_at_userinfo_is_401(rp, key, changes):
    tokens = _dpop_tokens(rp, key)
    response = _userinfo(rp, key, tokens["access_token"], **changes)
    assert response.status_code == 401
    assert (
        "DPoP" in response.headers["WWW-Authenticate"]
        or "Bearer" in response.headers["WWW-Authenticate"]
    )


def test_proof_replay_is_refused(rp, key):
    tokens = _dpop_tokens(rp, key)
    proof = dpop_proof(key, "GET", USERINFO, ath=access_token_hash(tokens["access_token"]))
    headers = {"Authorization": "DPoP " + tokens["access_token"], "DPoP": proof}
    assert rp.http.get("/userinfo", headers=headers).status_code == 200
    assert rp.http.get("/userinfo", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"htu": ISSUER + "/par"},
        {"htm": "GET"},
        {"iat": "in ten minutes"},  # computed when the test runs, not when it is collected
        {"h_jwk": None},
        {"nonce": "1.forged"},
        {"h_typ": "dpop"},
    ],
)
def test_bad_proof_at_token_endpoint_is_refused_and_code_survives(rp, key, changes):
    code = rp.login_code()
    nonce = _nonce(rp, key)
    if changes.get("iat") == "in ten minutes":
        changes = {"iat": int(time.time()) + 600}
    proof = dpop_proof(key, "POST", TOKEN, **{"nonce": nonce, **changes})
    response = rp.token(code, extra_headers={"DPoP": proof})
    assert response.json["error"] in ("invalid_dpop_proof", "use_dpop_nonce")
    good = dpop_proof(key, "POST", TOKEN, nonce=nonce)
    assert rp.token(code, extra_headers={"DPoP": good}).status_code == 200


def test_proof_with_private_key_in_header_is_refused(rp, key):
    proof = dpop_proof(key, "POST", TOKEN, nonce=_nonce(rp, key), h_jwk=key.as_dict(private=True))
    assert rp.token(rp.login_code(), extra_headers={"DPoP": proof}).json["error"] == (
        "invalid_dpop_proof"
    )


def test_token_proof_replay_is_refused(rp, key):
    proof = dpop_proof(key, "POST", TOKEN, nonce=_nonce(rp, key))
    assert rp.token(rp.login_code(), extra_headers={"DPoP": proof}).status_code == 200
    assert rp.token(rp.login_code(), extra_headers={"DPoP": proof}).json["error"] == (
        "invalid_dpop_proof"
    )


def test_client_requiring_dpop_gets_no_bearer_token(make_rp, key):
    rp = make_rp(require_dpop=True)
    response = rp.token(rp.login_code())
    assert response.json["error"] == "invalid_dpop_proof"
    assert _dpop_tokens(rp, key)["token_type"] == "DPoP"  # noqa: S105


def test_client_requiring_dpop_cannot_push_without_a_key(make_rp, key):
    """RFC 9449 §10.1: a client registered with --require-dpop binds its pushed request to a
    key, by a DPoP proof at PAR or dpop_jkt; without either, PAR refuses (invalid_request) and
    nothing is stored; either one is accepted."""
    rp = make_rp(require_dpop=True)
    refused = rp.push()
    assert (refused.status_code, refused.json["error"]) == (400, "invalid_request")
    assert "DPoP" in refused.json["error_description"]
    assert "request_uri" not in refused.json
    assert rp.push(dpop_jkt=key.thumbprint()).status_code == 201
    proof = dpop_proof(key, "POST", ISSUER + "/par", nonce=_nonce(rp, key))
    assert rp.push(extra_headers={"DPoP": proof}).status_code == 201


def test_dpop_jkt_in_authorization_request_binds_the_code(rp, key):
    other = ECKey.generate_key("P-256")
    code = rp.login_code(dpop_jkt=key.thumbprint())
    wrong = dpop_proof(other, "POST", TOKEN, nonce=_nonce(rp, other))
    assert rp.token(code, extra_headers={"DPoP": wrong}).json["error"] == "invalid_dpop_proof"


def test_par_with_dpop_binds_the_authorization_to_the_key(rp, key):
    nonce = _nonce(rp, key)
    proof = dpop_proof(key, "POST", ISSUER + "/par", nonce=nonce)
    response = rp.push(extra_headers={"DPoP": proof})
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = rp.http.get(
        "/authorize",
        query_string={"client_id": rp.client_id, "request_uri": response.json["request_uri"]},
    )
    code = query(answer.headers["Location"])["code"]
    assert rp.token(code).json["error"] == "invalid_dpop_proof"


def test_refresh_of_bound_family_needs_the_same_key(rp, key):
    tokens = _dpop_tokens(rp, key)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    assert rp.http.post("/token", data=form, headers=headers).json["error"] == "invalid_dpop_proof"


def test_introspection_reports_dpop_binding(rp, key):
    tokens = _dpop_tokens(rp, key)
    form = {"token": tokens["access_token"]}
    headers: dict = {}
    rp.auth(form, headers)
    body = rp.http.post("/introspect", data=form, headers=headers).json
    assert body["token_type"] == "DPoP"  # noqa: S105
    assert body["cnf"] == {"jkt": key.thumbprint()}


def test_discovery_lists_dpop_algorithms(rp):
    doc = rp.http.get("/.well-known/openid-configuration").json
    assert set(doc["dpop_signing_alg_values_supported"]) == {"ES256", "PS256", "RS256"}


def _tampered(proof: str) -> str:
    """The proof with its claims rewritten after signing (a new jti), the signature kept."""
    header, payload, signature = proof.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["jti"] = "replayed-under-a-new-name"
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


@pytest.mark.parametrize("forgery", ["another key in the header", "claims changed after signing"])
def test_proof_whose_signature_does_not_verify_is_refused_and_code_survives(rp, key, forgery):
    code, nonce = rp.login_code(), _nonce(rp, key)
    if forgery == "another key in the header":
        other = ECKey.generate_key("P-256").as_dict(private=False)
        proof = dpop_proof(key, "POST", TOKEN, nonce=nonce, h_jwk=other)
    else:
        proof = _tampered(dpop_proof(key, "POST", TOKEN, nonce=nonce))
    response = rp.token(code, extra_headers={"DPoP": proof})
    assert (response.status_code, response.json["error"]) == (400, "invalid_dpop_proof")
    good = dpop_proof(key, "POST", TOKEN, nonce=nonce)
    assert rp.token(code, extra_headers={"DPoP": good}).status_code == 200


# --- the server nonce's lifetime, on a clock the test moves ---------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("age", "accepted"), [(0, True), (300, True), (301, False)])
def test_server_nonce_is_accepted_for_its_lifetime_then_refused(key, age, accepted):
    """A nonce older than NONCE_LIFETIME gets use_dpop_nonce with a fresh one, though its proof
    is otherwise valid (a fresh iat, signed, unused jti)."""
    from idp.oidc.dpop import NONCE_LIFETIME, DPoP, UseDPoPNonceError
    from idp.storage.ephemeral import MemoryStore

    store = MemoryStore()
    clock = Clock(1_800_000_000.0)
    dpop = DPoP("s" * 40, lambda: store, clock=clock)
    nonce = dpop.nonce()
    clock.now += age
    proof = dpop_proof(key, "POST", TOKEN, nonce=nonce, iat=int(clock.now))
    if accepted:
        assert dpop.verify({"DPoP": proof}, "POST", TOKEN) == key.thumbprint()
        return
    assert age > NONCE_LIFETIME
    with pytest.raises(UseDPoPNonceError) as refused:
        dpop.verify({"DPoP": proof}, "POST", TOKEN)
    assert refused.value.nonce == dpop.nonce() != nonce


def test_server_nonce_from_the_future_is_refused(key):
    from idp.oidc.dpop import DPoP, UseDPoPNonceError
    from idp.storage.ephemeral import MemoryStore

    store = MemoryStore()
    clock = Clock(1_800_000_000.0)
    dpop = DPoP("s" * 40, lambda: store, clock=clock)
    nonce = dpop.nonce(clock.now + 30)
    proof = dpop_proof(key, "POST", TOKEN, nonce=nonce, iat=int(clock.now))
    with pytest.raises(UseDPoPNonceError):
        dpop.verify({"DPoP": proof}, "POST", TOKEN)


def test_par_takes_a_proof_without_a_nonce_by_default(rp, key):
    """dpop.nonce_at_par is off by default: the proof at PAR only names the key, which the
    token request proves again with a nonce."""
    response = rp.push(extra_headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/par")})
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.fixture
def nonce_at_par_not_token(database_url, tmp_path):
    """An IdP configured the other way round: a nonce at /par, none at /token."""
    import dataclasses

    from idp.config import DPoPConfig
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(database_url)
    config = dataclasses.replace(config, dpop=DPoPConfig(nonce_at_par=True, nonce_at_token=False))
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


def test_the_nonce_policy_is_set_per_endpoint(nonce_at_par_not_token, key):
    from tests.oidc.conftest import _register

    provider = nonce_at_par_not_token
    rp = _register(provider, provider.test_client(), "client_secret_basic")
    asked = rp.push(extra_headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/par")})
    assert (asked.status_code, asked.json["error"]) == (400, "use_dpop_nonce")
    nonce = asked.headers["DPoP-Nonce"]
    pushed = rp.push(extra_headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/par", nonce=nonce)})
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    token = rp.token(rp.login_code(), extra_headers={"DPoP": dpop_proof(key, "POST", TOKEN)})
    assert token.status_code == 200, token.get_data(as_text=True)
    assert token.json["token_type"] == "DPoP"  # noqa: S105
