"""Stream management refuses what SSF 1.0 §8 and RFC 6749 §4.4 do not allow, with a clear
error, and changes nothing when it does."""

from __future__ import annotations

import pytest

from tests.oidc.rp import RelyingParty
from tests.ssf.conftest import ISSUER, register
from tests.ssf.receiver import POLL, PUSH, Receiver, path_of

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"


def test_the_token_is_for_ssf_only_and_private_key_jwt_only(transmitter, bank):
    assert bank.request_token().status_code == 200
    for scope in ("openid", "ssf openid", "", "profile"):
        answer = bank.request_token(scope=scope)
        assert answer.status_code == 400, scope
        assert answer.json["error"] == "invalid_scope"
    secret_client, _ = register(transmitter, "Basic", auth_method="client_secret_basic")
    answer = transmitter.test_client().post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "ssf", "client_id": secret_client},
    )
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_client"
    forged = Receiver(bank.http, ISSUER, bank.client_id, register(transmitter, "Forger")[1])
    answer = forged.request_token()  # the bank's id, another key
    assert answer.status_code in (400, 401)  # as the IdP answers any failed assertion
    assert answer.json["error"] == "invalid_client"


def test_a_basic_client_may_not_use_client_credentials(transmitter):
    from idp.oidc.clients import register_client

    with transmitter.app_context():
        client, secret = register_client("Basic", ["https://b.example/cb"], "client_secret_basic")
        client_id = client.client_id
    answer = transmitter.test_client().post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "ssf"},
        auth=(client_id, secret),
    )
    assert answer.status_code == 400
    assert answer.json["error"] == "unauthorized_client"


def test_no_token_a_bad_token_or_a_login_token_is_refused(bank):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        answer = bank.http.get("/ssf/stream", headers=headers)
        assert answer.status_code == 401
        assert answer.json["error"] == "invalid_token"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer error=")
    rp = RelyingParty(bank.http, bank.client_id, "https://bank.example/cb", key=bank.key)
    login_token = rp.tokens()["access_token"]
    answer = bank.call("GET", "configuration_endpoint", token=login_token)
    assert answer.status_code == 403
    assert answer.json["error"] == "insufficient_scope"
    userinfo = bank.http.get("/userinfo", headers={"Authorization": f"Bearer {bank.token()}"})
    assert userinfo.status_code == 403  # and the stream token reads no personal data


def test_the_stream_lifecycle(bank):
    assert bank.call("GET", "configuration_endpoint").json == []
    stream = bank.create_stream(description="first")
    stream_id = stream["stream_id"]
    second = bank.call("POST", "configuration_endpoint", {})
    assert second.status_code == 409  # one stream per client
    assert bank.call("GET", "configuration_endpoint").json == [stream]
    read = bank.call("GET", bank.metadata["configuration_endpoint"] + f"?stream_id={stream_id}")
    assert read.json == stream
    assert read.headers["Cache-Control"] == "no-store"

    patched = bank.call(
        "PATCH",
        "configuration_endpoint",
        {"stream_id": stream_id, "events_requested": [CAEP + "session-revoked"]},
    )
    assert patched.status_code == 200
    assert patched.json["description"] == "first"  # PATCH keeps what it does not name
    assert patched.json["events_delivered"] == [CAEP + "session-revoked"]
    replaced = bank.call(
        "PUT", "configuration_endpoint", {"stream_id": stream_id, "delivery": {"method": POLL}}
    )
    assert replaced.status_code == 200
    assert "description" not in replaced.json  # PUT removes what it does not name
    assert replaced.json["events_requested"] == []

    status_url = bank.metadata["status_endpoint"] + f"?stream_id={stream_id}"
    assert bank.call("GET", status_url).json == {"stream_id": stream_id, "status": "enabled"}
    paused = bank.call(
        "POST",
        "status_endpoint",
        {"stream_id": stream_id, "status": "paused", "reason": "maintenance"},
    )
    assert paused.json == {"stream_id": stream_id, "status": "paused", "reason": "maintenance"}
    assert bank.call("GET", status_url).json["status"] == "paused"

    gone = bank.call("DELETE", bank.metadata["configuration_endpoint"] + f"?stream_id={stream_id}")
    assert gone.status_code == 204
    assert bank.call("GET", status_url).status_code == 404
    assert bank.call("GET", "configuration_endpoint").json == []


def test_another_clients_stream_is_not_found(bank, other_bank):
    stream = bank.create_stream()
    stream_id = stream["stream_id"]
    query = f"?stream_id={stream_id}"
    for method, endpoint, body in (
        ("GET", bank.metadata["configuration_endpoint"] + query, None),
        ("DELETE", bank.metadata["configuration_endpoint"] + query, None),
        ("PATCH", "configuration_endpoint", {"stream_id": stream_id, "description": "mine"}),
        ("GET", bank.metadata["status_endpoint"] + query, None),
        ("POST", "status_endpoint", {"stream_id": stream_id, "status": "disabled"}),
        ("POST", "verification_endpoint", {"stream_id": stream_id}),
        (
            "POST",
            "remove_subject_endpoint",
            {"stream_id": stream_id, "subject": {"format": "iss_sub", "iss": ISSUER, "sub": "x"}},
        ),
        ("POST", stream["delivery"]["endpoint_url"], {}),
    ):
        answer = other_bank.call(method, endpoint, body)
        assert answer.status_code == 404, (method, endpoint)
    assert other_bank.call("GET", "configuration_endpoint").json == []
    assert bank.call("GET", "configuration_endpoint").json == [stream]  # unchanged


@pytest.mark.parametrize(
    "delivery",
    [
        {"method": PUSH},
        {"method": PUSH, "endpoint_url": "ftp://bank.example/events"},
        {"method": PUSH, "endpoint_url": "http://bank.example/events"},
        {"method": PUSH, "endpoint_url": "https://10.1.2.3/events"},
        {"method": PUSH, "endpoint_url": "https://169.254.169.254/latest"},
        {"method": PUSH, "endpoint_url": "https://user:pw@bank.example/events"},
        {
            "method": PUSH,
            "endpoint_url": "http://127.0.0.1:9/x",
            "authorization_header": "Bearer \n x",
        },
        {"method": "urn:example:email"},
        "push",
    ],
)
def test_a_bad_delivery_is_refused_and_creates_nothing(bank, delivery):
    answer = bank.call("POST", "configuration_endpoint", {"delivery": delivery})
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_request"
    assert answer.json["error_description"]
    assert bank.call("GET", "configuration_endpoint").json == []


def test_malformed_requests_get_clear_errors_and_change_nothing(bank):
    stream = bank.create_stream(description="kept")
    stream_id = stream["stream_id"]
    not_json = bank.http.post(
        path_of(bank.metadata["configuration_endpoint"]),
        data="{not json",
        headers={"Authorization": f"Bearer {bank.token()}", "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    for endpoint, body in (
        ("configuration_endpoint", ["a list"]),
        ("configuration_endpoint", {"events_requested": "all"}),
        ("status_endpoint", {"stream_id": stream_id, "status": "on"}),
        (
            "add_subject_endpoint",
            {"stream_id": stream_id, "subject": {"format": "email", "email": "a@b"}},
        ),
        (
            "add_subject_endpoint",
            {
                "stream_id": stream_id,
                "subject": {"format": "iss_sub", "iss": "https://other.example", "sub": "x"},
            },
        ),
        ("verification_endpoint", {"stream_id": stream_id, "state": 7}),
    ):
        answer = bank.call("POST", endpoint, body)
        assert answer.status_code in (400, 409), (endpoint, body)
        assert answer.json["error"] in ("invalid_request", "conflict")
    for body in (
        {"stream_id": stream_id, "iss": "https://other.example"},
        {"stream_id": stream_id, "aud": "someone-else"},
        {"stream_id": stream_id, "events_requested": [7]},
    ):
        answer = bank.call("PATCH", "configuration_endpoint", body)
        assert answer.status_code == 400, body
    poll = bank.call("POST", stream["delivery"]["endpoint_url"], {"maxEvents": -1})
    assert poll.status_code == 400
    assert poll.json["err"] == "invalid_request"
    assert bank.call("GET", "configuration_endpoint").json == [stream]


def test_verification_has_a_minimum_interval(bank):
    stream = bank.create_stream()
    body = {"stream_id": stream["stream_id"], "state": "one"}
    assert bank.call("POST", "verification_endpoint", body).status_code == 204
    again = bank.call("POST", "verification_endpoint", body)
    assert again.status_code == 429
    assert stream["min_verification_interval"] == 5
