"""The transmitter as a receiver meets it: metadata, the token, stream management, and SETs by
push and by poll, checked by the receiver's own code (``tests/ssf/receiver.py``)."""

from __future__ import annotations

import json

from joserfc import jws

from idp.jpki.settings import CertificateType
from idp.jpki.status import Status
from idp.services import services
from idp.ssf.signals import card_status_changed
from idp.ssf.streams import COURIER
from tests.cardless import DEFAULT_ACCOUNT
from tests.oidc.rp import RelyingParty
from tests.ssf.conftest import ISSUER
from tests.ssf.receiver import POLL, PUSH, VERIFICATION
from tests.ssf.rows import change

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def login_sub(bank) -> str:
    """The bank logs the default card-less account in; the ``sub`` its ID token names."""
    rp = RelyingParty(bank.http, bank.client_id, "https://bank.example/cb", key=bank.key)
    id_token = rp.tokens()["id_token"]
    return json.loads(jws.extract_compact(id_token.encode()).payload)["sub"]


def tell(app, **changes) -> int:
    with app.app_context():
        return card_status_changed(services(app), DEFAULT_ACCOUNT, change(**changes))


def event_of(claims: dict) -> tuple[str, dict]:
    return next(iter(claims["events"].items()))


def test_the_metadata_says_where_everything_is(bank):
    found = bank.metadata
    assert found["spec_version"] == "1_0"
    assert found["issuer"] == ISSUER
    assert found["jwks_uri"] == ISSUER + "/jwks"
    assert found["delivery_methods_supported"] == [PUSH, POLL]
    for name, path in (
        ("configuration_endpoint", "/ssf/stream"),
        ("status_endpoint", "/ssf/status"),
        ("add_subject_endpoint", "/ssf/subjects:add"),
        ("remove_subject_endpoint", "/ssf/subjects:remove"),
        ("verification_endpoint", "/ssf/verify"),
    ):
        assert found[name] == ISSUER + path
    assert found["authorization_schemes"] == [{"spec_urn": "urn:ietf:rfc:6749"}]
    assert found["default_subjects"] == "ALL"


def test_a_stream_verified_and_told_by_poll(bank):
    sub = login_sub(bank)
    stream = bank.create_stream(
        events_requested=[CAEP + "session-revoked", CAEP + "credential-change"]
    )
    assert stream["delivery"] == {
        "method": POLL,
        "endpoint_url": f"{ISSUER}/ssf/poll/{stream['stream_id']}",
    }
    assert stream["events_delivered"] == [CAEP + "credential-change", CAEP + "session-revoked"]

    answer = bank.call(
        "POST", "verification_endpoint", {"stream_id": stream["stream_id"], "state": "s-1"}
    )
    assert answer.status_code == 204
    polled = bank.poll(stream)
    assert polled["moreAvailable"] is False
    [(jti, token)] = polled["sets"].items()
    claims = bank.check(token)
    assert claims["jti"] == jti
    assert claims["sub_id"] == {"format": "opaque", "id": stream["stream_id"]}
    assert event_of(claims) == (VERIFICATION, {"state": "s-1"})

    assert tell(bank.http.application) == 2
    polled = bank.poll(stream, ack=[jti])
    sets = {event_of(c)[0]: c for c in map(bank.check, polled["sets"].values())}  # an object:
    assert set(sets) == {CAEP + "credential-change", CAEP + "session-revoked"}  # no order
    for claims in sets.values():
        assert claims["sub_id"] == {"format": "iss_sub", "iss": ISSUER, "sub": sub}
        assert claims["jti"] in polled["sets"]
    members = event_of(sets[CAEP + "credential-change"])[1]
    assert (members["change_type"], members["jpki_reason"]) == ("revoke", "keyCompromise")
    assert len({claims["txn"] for claims in sets.values()}) == 1  # one underlying change

    again = bank.poll(stream)  # not acknowledged: offered again
    assert set(again["sets"]) == set(polled["sets"])
    done = bank.poll(stream, ack=list(polled["sets"]))
    assert done == {"sets": {}, "moreAvailable": False}


def test_poll_takes_max_events_set_errs_and_ack_only(bank):
    login_sub(bank)
    stream = bank.create_stream()
    tell(bank.http.application, status=Status.ON_HOLD, reason="certificateHold")
    first = bank.poll(stream, maxEvents=1)
    assert first["moreAvailable"] is True
    assert len(first["sets"]) == 1
    [jti] = first["sets"]
    assert event_of(bank.check(first["sets"][jti]))[0] == RISC + "account-disabled"
    refused = {jti: {"err": "invalid_request", "description": "not for us"}}
    assert bank.poll(stream, setErrs=refused, maxEvents=0) == {"sets": {}, "moreAvailable": True}
    rest = bank.poll(stream)
    assert jti not in rest["sets"]  # a refused SET is not offered again
    assert [event_of(bank.check(t))[0] for t in rest["sets"].values()] == [CAEP + "session-revoked"]


def test_a_stream_told_by_push_with_its_authorization_header(bank, push_endpoint):
    sub = login_sub(bank)
    delivery = {
        "method": PUSH,
        "endpoint_url": push_endpoint.url,
        "authorization_header": "Bearer rx-secret",
    }
    stream = bank.create_stream(delivery)
    assert stream["delivery"] == delivery
    app = bank.http.application
    services(app)[COURIER].start()  # as a served process does at its first request

    bank.call("POST", "verification_endpoint", {"stream_id": stream["stream_id"], "state": "p-1"})
    [(headers, body)] = push_endpoint.wait_for(1)
    assert headers["Content-Type"] == "application/secevent+jwt"
    assert headers["Authorization"] == "Bearer rx-secret"
    assert event_of(bank.check(body.decode())) == (VERIFICATION, {"state": "p-1"})

    assert tell(app, reason="affiliationChanged", kind=CertificateType.SIGN) == 1
    received = push_endpoint.wait_for(2)
    claims = bank.check(received[1][1].decode())
    assert claims["sub_id"]["sub"] == sub
    kind, members = event_of(claims)
    assert kind == ISSUER + "/ssf/event-type/verified-facts-changed"
    assert members["jpki_certificate"] == "sign"
    assert "address" not in members
    assert "name" not in members
