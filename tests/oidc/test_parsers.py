"""Every JSON and form parser at an endpoint answers malformed input with its error format and
changes nothing: the claims parameter, the registration body, client assertions and DPoP proofs
(compact JWS), max_age, and the document API's body. Each parser has a property test over any
JSON value in any member; the deep and wrongly typed cases that raised (500s) are named too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.oidc import untrusted_json
from idp.oidc.claims import parse_claims_request
from idp.oidc.registration_body import BOOLEANS, INTEGERS, STRING_LISTS, STRINGS, check_body
from tests.conftest import REGISTRATION_TOKEN, drop_schema, make_registrar
from tests.json_values import JSON

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
DEEP_LIST = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


# --- untrusted_json, the one loader -------------------------------------------------------


@pytest.mark.parametrize(
    "text", [DEEP_LIST, DEEP_OBJECT, "[" * 17 + "]" * 17, "NaN", '{"a": Infinity}', "{", "\ud800"]
)
def test_deep_unfinished_or_nonstandard_json_is_refused(text):
    with pytest.raises(untrusted_json.UntrustedJsonError):
        untrusted_json.load(text, 100_000)


def test_sixteen_levels_load_and_the_size_limit_holds():
    assert untrusted_json.depth(untrusted_json.load("[" * 16 + "]" * 16, 1000)) == 16
    with pytest.raises(untrusted_json.UntrustedJsonError, match="at most 10 bytes"):
        untrusted_json.load('"01234567890"', 10)


@FUZZ
@given(value=JSON)
def test_depth_is_json_nesting(value):
    text = json.dumps(value)
    assert untrusted_json.depth(value) == (
        0 if not isinstance(value, dict | list) else _recursive_depth(value)
    )
    assert untrusted_json.load(text, len(text)) == value


def _recursive_depth(value) -> int:
    if isinstance(value, dict | list):
        members = value.values() if isinstance(value, dict) else value
        return 1 + max((_recursive_depth(m) for m in members), default=0)
    return 0


# --- the claims parameter -----------------------------------------------------------------


@FUZZ
@given(raw=st.one_of(JSON.map(json.dumps), st.text(max_size=60)))
def test_any_claims_parameter_parses_or_is_invalid_request(raw):
    try:
        parsed = parse_claims_request(raw)
    except InvalidRequestError:
        return
    assert set(parsed) <= {"id_token", "userinfo"}
    assert all(isinstance(member, dict) for member in parsed.values())


@FUZZ
@given(where=st.sampled_from(["id_token", "userinfo"]), claim=st.text(max_size=8), spec=JSON)
def test_any_claim_request_member_parses_or_is_invalid_request(where, claim, spec):
    with contextlib.suppress(InvalidRequestError):
        parse_claims_request(json.dumps({where: {claim: spec}}))


@pytest.mark.parametrize(
    "claims",
    [
        DEEP_LIST,
        DEEP_OBJECT,
        '{"userinfo": {"verified_claims": ' + DEEP_OBJECT + "}}",
        '{"id_token": {"acr": {"values": "urn:x"}}}',
        '{"userinfo": {"name": {"essential": []}}}',
    ],
)
@pytest.mark.parametrize("endpoint", ["/authorize", "/par"])
def test_bad_claims_get_an_oauth_error_at_authorize_and_par(rp, claims, endpoint):
    if endpoint == "/par":
        response = rp.push(claims=claims)
        assert response.status_code == 400
        assert response.json["error"] == "invalid_request"
        return
    response = rp.authorize(claims=claims)
    assert response.status_code in (302, 303)
    assert "error=invalid_request" in response.headers["Location"]


@pytest.mark.parametrize("max_age", ["²", "9" * 5000, "-1", "1e3"])
@pytest.mark.parametrize("endpoint", ["/authorize", "/par"])
def test_a_max_age_that_is_no_number_is_invalid_request(rp, max_age, endpoint):
    """``"9" * 5000`` raised ValueError in int() (a 500) when a session could be reused."""
    rp.tokens()  # a session the request could reuse
    response = rp.push(max_age=max_age) if endpoint == "/par" else rp.authorize(max_age=max_age)
    if endpoint == "/par":
        assert response.json["error"] == "invalid_request"
    else:
        assert "error=invalid_request" in response.headers["Location"]


# --- the registration body ----------------------------------------------------------------

KNOWN = sorted(STRINGS | STRING_LISTS | BOOLEANS | INTEGERS | {"jwks"})
GOOD = {"client_name": "Bank", "redirect_uris": ["https://bank.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic"}  # fmt: skip


def _register(app, body: object, raw: str | None = None):
    return app.test_client().post(
        "/register",
        data=raw if raw is not None else json.dumps(body),
        headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}",
                 "Content-Type": "application/json"},
    )  # fmt: skip


def _clients(app) -> int:
    from idp.storage.db import db
    from idp.storage.models import Client

    with app.app_context():
        return db.session.query(Client).count()


@FUZZ
@given(member=st.sampled_from(KNOWN), value=JSON)
def test_any_value_of_any_known_member_is_checked_or_refused(member, value):
    """The body parser alone: a known member of its type passes, any other is refused."""
    try:
        body = check_body(json.dumps({**GOOD, member: value}).encode())
    except OAuth2Error as error:
        refused = error.error
    else:
        refused = None
        assert body[member] == value
    assert refused in (None, "invalid_client_metadata")


@pytest.fixture
def fuzz_registrar(tmp_path):
    """The registrar with room for every example: its default allowance (30 registrations an
    hour per token) would answer the 31st with 429 ``slow_down`` and hide what is checked here."""
    from idp.config import LimitsConfig

    application = make_registrar(
        tmp_path,
        limits=LimitsConfig(registrations_per_token="1000 per hour"),  # noqa: S106 (a rate)
    )
    yield application
    drop_schema(application)


@FUZZ
@given(member=st.sampled_from(KNOWN), value=JSON)
def test_registration_answers_any_member_value_with_an_oauth_error_or_a_client(
    fuzz_registrar, member, value
):
    before = _clients(fuzz_registrar)
    response = _register(fuzz_registrar, {**GOOD, member: value})
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.json["error"] in ("invalid_client_metadata", "invalid_redirect_uri",
                                          "invalid_request")  # fmt: skip
        assert _clients(fuzz_registrar) == before


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        (None, DEEP_OBJECT),
        (None, '{"client_name": NaN}'),
        ([], None),
        ({**GOOD, "redirect_uris": [1]}, None),
        ({**GOOD, "jwks_uri": 1}, None),
        ({**GOOD, "jwks": []}, None),
        ({**GOOD, "jwks": "x"}, None),
        ({**GOOD, "jwks": {"keys": [1]}}, None),
        ({**GOOD, "jwks": {"keys": [{}]}}, None),
        ({**GOOD, "client_name": {}}, None),
        ({**GOOD, "client_name#ja": []}, None),
        ({**GOOD, "sector_identifier_uri": []}, None),
        ({**GOOD, "response_types": {}}, None),
        ({**GOOD, "logo_uri": {}}, None),
        ({**GOOD, "redirect_uris": ["http://b.example/\\"]}, None),  # echoed: a backslash
        ({**GOOD, "post_logout_redirect_uris": ['http://b.example/"']}, None),
    ],
)
def test_wrongly_shaped_registrations_are_refused_and_store_nothing(registrar, body, raw):
    response = _register(registrar, body, raw)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] in (
        "invalid_client_metadata", "invalid_request", "invalid_redirect_uri"
    )  # fmt: skip
    assert _clients(registrar) == 0


def test_unknown_members_are_ignored():
    assert check_body(json.dumps({**GOOD, "x-extension": {"any": [1]}}).encode())["x-extension"]


# --- compact JWS: client assertions and DPoP proofs -----------------------------------------


@FUZZ
@given(header=JSON, payload=JSON, signature=st.text(max_size=8).filter(lambda s: "." not in s))
def test_compact_jws_check_takes_objects_only(header, payload, signature):
    token = f"{_b64(json.dumps(header))}.{_b64(json.dumps(payload))}.{signature}"
    assert untrusted_json.compact_jws_ok(token) == (
        isinstance(header, dict) and isinstance(payload, dict)
    )


@pytest.mark.parametrize("part", ["header", "payload"])
def test_a_deep_client_assertion_is_invalid_client(jwt_rp, part):
    """A payload nested 3,000 deep raised RecursionError in Authlib's assertion parser."""
    header = DEEP_OBJECT if part == "header" else '{"alg": "RS256"}'
    payload = DEEP_OBJECT if part == "payload" else '{"sub": "x"}'
    assertion = f"{_b64(header)}.{_b64(payload)}.AAAA"
    for response in (jwt_rp.token("code", assertion=assertion), jwt_rp.push(assertion=assertion)):
        assert response.status_code in (400, 401)
        assert response.json["error"] == "invalid_client"


def test_a_signed_dpop_proof_with_a_deep_payload_is_invalid_dpop_proof(provider):
    """The proof's key is the sender's own, so a deep payload verifies and then json.loads
    raised RecursionError; and a nonce stamp of digits that int() refuses raised ValueError."""
    key = ECKey.generate_key("P-256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    deep = jwt.encode(header, {"jti": "x"}, key)
    head, _, _ = deep.split(".")
    from joserfc import jws

    signed = jws.serialize_compact(header, DEEP_OBJECT.encode(), key)
    claims = {"jti": secrets.token_urlsafe(8), "htm": "POST", "htu": "http://127.0.0.1:8000/token",
              "iat": int(time.time()), "nonce": "²." + "A" * 22}  # fmt: skip
    superscript = jwt.encode(header, claims, key)
    for proof in (signed, head + "." + _b64(DEEP_LIST) + ".AAAA", superscript):
        response = provider.test_client().post(
            "/token", data={"grant_type": "authorization_code", "code": "x"},
            headers={"DPoP": proof},
        )  # fmt: skip
        assert response.status_code in (400, 401), response.get_data(as_text=True)
        assert response.json["error"] in ("invalid_dpop_proof", "use_dpop_nonce", "invalid_client")
