"""The bank as a Shared Signals receiver (examples/relying_party/signals.py): SETs pushed to
``/ssf/events`` (RFC 8935) are checked and acted on; every forged, stale or malformed one is
refused with RFC 8935's error and changes nothing, and a repeated one (its ``jti`` seen before) is
answered 202 and changes nothing.

The SETs here are signed by a transmitter key of the test's own, published at a JWKS URL the
test serves and named in the transmitter metadata the bank holds; test_signals_idp.py has the
IdP's own transmitter push to the bank.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from click.testing import CliRunner
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from examples.relying_party import signals
from examples.relying_party.__main__ import main
from examples.relying_party.subscription import STREAM_FILE, receiver, well_known
from sandbox.server import free_port
from tests.oidc.live import serving
from tests.relying_party.conftest import apply, csrf, fetch_income, session_data

MEDIA_TYPE = "application/secevent+jwt"


@dataclass
class Transmitter:
    """A transmitter's keys as the bank sees them: a JWKS it serves, keys it may add."""

    url: str
    keys: list = field(default_factory=list)

    def new_key(self) -> ECKey:
        key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
        self.keys.append(key)
        return key


@pytest.fixture(scope="module")
def transmitter(bank, idp) -> Iterator[Transmitter]:
    """The bank's receiver trusting a JWKS served here, for the IdP's issuer."""
    found = Transmitter("")
    app = Flask("transmitter-keys")
    app.get("/jwks")(lambda: jsonify({"keys": [k.as_dict(private=False) for k in found.keys]}))
    found.new_key()
    with serving(app, free_port()) as url:
        found.url = url
        held = receiver(bank.app)
        held._configuration = {"issuer": idp.url, "jwks_uri": url + "/jwks"}
        held._keys = None
        try:
            yield found
        finally:
            held._configuration, held._keys = None, None


def make_set(transmitter, idp, bank, event: str, payload=None, *, sub=None, key=None,
             header=None, **changes) -> str:  # fmt: skip
    """A SET as a transmitter signs it for the bank (SSF 1.0 §4: sub_id in iss_sub format)."""
    key = key or transmitter.keys[0]
    claims = {
        "iss": idp.url, "aud": bank.client_id, "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16), "events": {event: payload or {}},
        "sub_id": {"format": "iss_sub", "iss": idp.url, "sub": sub or "nobody"},
    }  # fmt: skip
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    head = {"alg": alg, "kid": key.kid, "typ": "secevent+jwt", **(header or {})}
    head = {k: v for k, v in head.items() if v is not None}
    return jwt.encode(head, claims, key, algorithms=[alg])


def push(bank, token: str, content_type: str = MEDIA_TYPE, **headers) -> requests.Response:
    headers = {"Content-Type": content_type, "Accept": "application/json", **headers}
    return requests.post(bank.url + "/ssf/events", data=token, headers=headers, timeout=10)


def signed_in(browser, bank) -> str:
    """A signed-in applicant; their pairwise ``sub`` at the bank."""
    apply(browser, bank)
    return session_data(bank, browser)["sub"]


# --- events that end the bank's sessions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        (signals.SESSION_REVOKED, {"event_timestamp": 1}),
        (signals.ACCOUNT_DISABLED, {"reason": "hijacking"}),
        (signals.CREDENTIAL_CHANGE, {"credential_type": "x509", "change_type": "revoke"}),
    ],
)
def test_an_event_that_ends_the_customers_sessions_ends_them(
    browser, bank, idp, transmitter, event, payload
):
    sub = signed_in(browser, bank)
    with requests.Session() as other_browser:  # the same customer on another device
        apply(other_browser, bank)
        answer = push(bank, make_set(transmitter, idp, bank, event, payload, sub=sub))
        assert answer.status_code == 202, answer.text
        assert answer.content == b""
        assert session_data(bank, browser) == {}
        assert session_data(bank, other_browser) == {}
    assert browser.get(bank.url + "/application").status_code == 401


def test_the_event_ends_only_that_customers_sessions(browser, bank, idp, transmitter):
    signed_in(browser, bank)
    event = make_set(transmitter, idp, bank, signals.SESSION_REVOKED, sub="someone-else")
    assert push(bank, event).status_code == 202
    assert session_data(bank, browser).get("login")


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        (signals.CREDENTIAL_CHANGE, {"credential_type": "x509", "change_type": "update"}),
        (signals.ACCOUNT_ENABLED, {}),
        ("https://schemas.openid.net/secevent/caep/event-type/token-claims-change", {}),
    ],
)
def test_a_renewal_a_release_or_an_unknown_event_is_accepted_and_ends_nothing(
    browser, bank, idp, transmitter, event, payload
):
    sub = signed_in(browser, bank)
    answer = push(bank, make_set(transmitter, idp, bank, event, payload, sub=sub))
    assert answer.status_code == 202, answer.text
    assert session_data(bank, browser).get("login")
    if event == signals.ACCOUNT_ENABLED:
        assert [n.event for n in bank.app.extensions["bank.signals"].notices(sub)][-1] == event


# --- verified facts changed: re-verification ---------------------------------------------------


def test_changed_facts_ask_the_customer_to_verify_again_and_a_new_login_settles_it(
    browser, bank, idp, transmitter
):
    sub = signed_in(browser, bank)
    page = browser.get(bank.url + "/application")
    assert 'id="reverify"' not in page.text
    answer = push(bank, make_set(transmitter, idp, bank, signals.facts_changed(idp.url), sub=sub))
    assert answer.status_code == 202, answer.text
    assert session_data(bank, browser).get("login")  # nothing ends: the application waits
    page = browser.get(bank.url + "/application?lang=ja")
    assert "本人確認のやり直しが必要です" in page.text
    english = browser.get(bank.url + "/application?lang=en")
    assert "Re-verification needed" in english.text
    assert 'id="verify-again-button"' in english.text

    # no contract naming the applicant with stale facts: neither offered nor prepared
    assessed = fetch_income(browser, bank, english)
    assert 'id="sign-after-reverify"' in assessed.text
    assert 'id="sign-button"' not in assessed.text
    refused = browser.post(bank.url + "/contract", data={"csrf_token": csrf(assessed.text)})
    assert refused.status_code == 409
    assert 'data-reason="reverify_needed"' in refused.text

    time.sleep(1.1)  # a login is stamped to the second: the new one must be later than the event
    again = browser.post(
        bank.url + "/application/verify-again", data={"csrf_token": csrf(english.text)}
    )
    assert again.status_code == 200, again.text
    assert again.url == bank.url + "/application"
    assert 'id="reverify"' not in again.text
    assert "Re-verification needed" not in again.text
    assert 'id="sign-button"' in again.text  # the application goes on where it was


def test_verify_again_needs_the_sessions_csrf_token(browser, bank, idp, transmitter):
    signed_in(browser, bank)
    answer = browser.post(bank.url + "/application/verify-again", data={"csrf_token": "forged"})
    assert answer.status_code == 400
    assert session_data(bank, browser).get("login")


# --- refusals -------------------------------------------------------------------------------------


REFUSED = [
    ("forged signature", "invalid_key", {"key": ECKey.generate_key("P-256", auto_kid=True)}),
    ("an RSA key of nobody", "invalid_key", {"key": RSAKey.generate_key(2048, auto_kid=True)}),
    ("another audience", "invalid_audience", {"aud": "another-bank"}),
    ("another issuer", "invalid_issuer", {"iss": "https://evil.example"}),
    ("an ID token's typ", "invalid_request", {"header": {"typ": "JWT"}}),
    ("no typ", "invalid_request", {"header": {"typ": None}}),
    ("from the future", "invalid_request", {"iat": int(time.time()) + 3600}),
    ("too old", "invalid_request", {"iat": int(time.time()) - signals.REPLAY_WINDOW - 60}),
    ("no iat", "invalid_request", {"iat": None}),
    ("no jti", "invalid_request", {"jti": None}),
    ("two events", "invalid_request", {"events": {
        signals.SESSION_REVOKED: {}, signals.ACCOUNT_DISABLED: {}}}),
    ("a subject of another issuer", "invalid_request", {"sub_id": {
        "format": "iss_sub", "iss": "https://evil.example", "sub": "S"}}),
    ("an email subject", "invalid_request", {"sub_id": {"format": "email", "email": "a@b.c"}}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "err", "kwargs"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_bad_set_is_refused_with_its_error_and_ends_nothing(
    browser, bank, idp, transmitter, case, err, kwargs
):
    sub = signed_in(browser, bank)
    kwargs = {"sub": sub, **kwargs}
    token = make_set(transmitter, idp, bank, signals.SESSION_REVOKED, **kwargs)
    answer = push(bank, token)
    assert answer.status_code == 400, case
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["err"] == err, case
    assert answer.json()["description"]
    assert session_data(bank, browser).get("login"), case


def test_a_repeated_set_is_answered_202_and_does_not_end_the_next_login(
    browser, bank, idp, transmitter
):
    """A transmitter retrying after a lost answer, or a replay: acted on once only."""
    sub = signed_in(browser, bank)
    token = make_set(transmitter, idp, bank, signals.SESSION_REVOKED, sub=sub)
    assert push(bank, token).status_code == 202
    assert session_data(bank, browser) == {}
    signed_in(browser, bank)  # the customer logs in again
    repeated = push(bank, token)
    assert repeated.status_code == 202
    assert session_data(bank, browser).get("login")


@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    [
        ("JSON, not a SET", json.dumps({"events": {}}), "application/json"),
        ("a SET as JSON", None, "application/json"),
        ("a SET as a form", None, "application/x-www-form-urlencoded"),
        ("garbage", "not.a.jwt", MEDIA_TYPE),
        ("two parts", "abc.def", MEDIA_TYPE),
        ("empty", "", MEDIA_TYPE),
        ("huge", "a" * 70_000 + ".b.c", MEDIA_TYPE),
        ("unsigned", None, MEDIA_TYPE),
    ],
)
def test_a_malformed_push_is_refused(browser, bank, idp, transmitter, case, body, content_type):
    sub = signed_in(browser, bank)
    if body is None:
        body = make_set(transmitter, idp, bank, signals.SESSION_REVOKED, sub=sub)
        if case == "unsigned":
            head = json.dumps({"alg": "none", "typ": "secevent+jwt"}).encode()
            from joserfc.util import urlsafe_b64encode

            body = urlsafe_b64encode(head).decode() + "." + body.split(".")[1] + "."
    answer = push(bank, body, content_type)
    assert answer.status_code == 400, case
    assert answer.json()["err"] in ("invalid_request", "invalid_key"), case
    if case == "huge":
        assert "too large" in answer.json()["description"]
    assert session_data(bank, browser).get("login"), case


def test_a_new_signing_key_is_fetched_once_its_kid_appears(browser, bank, idp, transmitter):
    sub = signed_in(browser, bank)
    rotated = transmitter.new_key()  # published after the bank cached the JWKS
    push(bank, make_set(transmitter, idp, bank, signals.ACCOUNT_ENABLED, sub=sub))
    answer = push(bank, make_set(transmitter, idp, bank, signals.SESSION_REVOKED, sub=sub,
                                 key=rotated))  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert session_data(bank, browser) == {}


def test_the_transmitters_keys_unreachable_is_a_retryable_503(bank, idp, transmitter):
    held = receiver(bank.app)
    saved = held._configuration
    held._configuration = {"issuer": idp.url, "jwks_uri": f"http://127.0.0.1:{free_port()}/jwks"}
    held._keys = None
    try:
        answer = push(bank, make_set(transmitter, idp, bank, signals.SESSION_REVOKED))
    finally:
        held._configuration, held._keys = saved, None
    assert answer.status_code == 503
    assert answer.json()["err"] == "temporarily_unavailable"


# --- the stream's push secret and its verification --------------------------------------------


@pytest.fixture
def kept_stream(bank) -> Iterator[dict]:
    held = receiver(bank.app)
    stream = held.keep(stream_id="stream-1", authorization="Bearer push-secret",
                       verification_state="expected-state")  # fmt: skip
    try:
        yield stream
    finally:
        (bank.settings.instance / STREAM_FILE).unlink(missing_ok=True)


def test_with_a_stream_the_push_must_carry_its_authorization_header(
    browser, bank, idp, transmitter, kept_stream
):
    sub = signed_in(browser, bank)
    for wrong in ({}, {"Authorization": "Bearer guessed"}):
        token = make_set(transmitter, idp, bank, signals.SESSION_REVOKED, sub=sub)
        answer = push(bank, token, **wrong)
        assert answer.status_code == 401
        assert answer.json()["err"] == "authentication_failed"
        assert session_data(bank, browser).get("login")
    answer = push(bank, token, Authorization="Bearer push-secret")
    assert answer.status_code == 202
    assert session_data(bank, browser) == {}


def verification(transmitter, idp, bank, state: str, stream_id: str = "stream-1") -> str:
    return make_set(transmitter, idp, bank, signals.VERIFICATION, {"state": state},
                    sub_id={"format": "opaque", "id": stream_id})  # fmt: skip


def test_the_verification_event_with_the_banks_state_verifies_the_stream(
    bank, idp, transmitter, kept_stream
):
    secret = {"Authorization": "Bearer push-secret"}
    for state, stream_id in (("another-state", "stream-1"), ("expected-state", "stream-2")):
        answer = push(bank, verification(transmitter, idp, bank, state, stream_id), **secret)
        assert answer.status_code == 400
        assert answer.json()["err"] == ("invalid_state" if stream_id == "stream-1" else
                                        "invalid_request")  # fmt: skip
    assert not receiver(bank.app).stream().get("verified_at")
    answer = push(bank, verification(transmitter, idp, bank, "expected-state"), **secret)
    assert answer.status_code == 202
    assert receiver(bank.app).stream()["verified_at"]
    again = push(bank, verification(transmitter, idp, bank, "expected-state"), **secret)
    assert again.status_code == 400  # the state is spent
    assert again.json()["err"] == "invalid_state"


# --- setting up the stream: what fails before any stream exists ----------------------------------


def test_the_metadata_url_keeps_the_issuers_path_after_the_well_known_segment():
    assert well_known("https://idp.example") == "https://idp.example/.well-known/ssf-configuration"
    assert well_known("https://idp.example/") == "https://idp.example/.well-known/ssf-configuration"
    assert (
        well_known("https://idp.example/tenant")
        == "https://idp.example/.well-known/ssf-configuration/tenant"
    )  # SSF 1.0 §7.2, as RFC 8414 §3.1 places it


def test_subscribe_says_so_when_the_bank_is_not_registered(tmp_path):
    result = CliRunner().invoke(main, ["--instance", str(tmp_path), "subscribe"])
    assert result.exit_code == 1
    assert "not registered" in result.output
    assert not (tmp_path / STREAM_FILE).exists()


def test_subscribe_says_so_when_the_idp_is_down(tmp_path):
    (tmp_path / "client.json").write_text(json.dumps({"client_id": "bank"}))
    issuer = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["--issuer", issuer, "--instance", str(tmp_path),
                                       "subscribe"])  # fmt: skip
    assert result.exit_code == 1
    assert "the stream was not set up" in result.output
    assert not (tmp_path / STREAM_FILE).exists()
