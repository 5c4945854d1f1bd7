"""A card's status change becomes the SETs each relying party holding a grant is owed."""

from __future__ import annotations

import json
import time

import pytest

from idp.jpki.settings import CertificateType
from idp.jpki.status import Status
from idp.oidc.server import SERVER
from idp.services import services
from idp.ssf import events
from idp.ssf.signals import card_status_changed
from tests.ssf.rows import add_account, add_consent, add_stream, change, outbox

ISSUER = "http://localhost:5000"
FACTS = events.facts_changed(ISSUER)
AUTH, SIGN = CertificateType.AUTH, CertificateType.SIGN


@pytest.mark.parametrize(
    ("status", "reason", "kind", "expected"),
    [
        (Status.REVOKED, "keyCompromise", AUTH, [events.CREDENTIAL_CHANGE, events.SESSION_REVOKED]),
        (Status.REVOKED, "unspecified", AUTH, [events.CREDENTIAL_CHANGE, events.SESSION_REVOKED]),
        (Status.REVOKED, None, AUTH, [events.CREDENTIAL_CHANGE, events.SESSION_REVOKED]),
        (
            Status.REVOKED,
            "cessationOfOperation",
            AUTH,
            [events.CREDENTIAL_CHANGE, events.SESSION_REVOKED],
        ),
        (Status.REVOKED, "keyCompromise", SIGN, [events.CREDENTIAL_CHANGE]),
        (
            Status.ON_HOLD,
            "certificateHold",
            AUTH,
            [events.ACCOUNT_DISABLED, events.SESSION_REVOKED],
        ),
        (Status.ON_HOLD, "certificateHold", SIGN, [events.ACCOUNT_DISABLED]),
        (Status.RELEASED, "removeFromCRL", AUTH, [events.ACCOUNT_ENABLED]),
        (Status.RELEASED, None, SIGN, [events.ACCOUNT_ENABLED]),
        (Status.REVOKED, "superseded", AUTH, [events.CREDENTIAL_CHANGE]),
        (Status.REVOKED, "affiliationChanged", SIGN, [FACTS]),
        (
            Status.REVOKED,
            "affiliationChanged",
            AUTH,
            [events.CREDENTIAL_CHANGE, events.SESSION_REVOKED],
        ),
    ],
)
def test_each_reason_has_its_events(status, reason, kind, expected):
    told = events.events_for(change(status, reason, kind), ISSUER)
    assert [event.type for event in told] == expected
    for event in told:  # the reason stays distinct, the certificate is never named
        assert event.members["jpki_reason"] == reason
        assert event.members["jpki_certificate"] == kind.value
        assert set(event.members["reason_admin"]) == {"en", "ja"}
        assert "1A2B3C" not in json.dumps(event.members)
        assert event.members["event_timestamp"] == 1796117400  # 2026-12-01T09:30Z


def test_revocation_and_renewal_are_told_apart():
    revoked = events.events_for(change(reason="keyCompromise"), ISSUER)[0].members
    renewed = events.events_for(change(reason="superseded"), ISSUER)[0].members
    assert (revoked["credential_type"], revoked["change_type"]) == ("x509", "revoke")
    assert (renewed["credential_type"], renewed["change_type"]) == ("x509", "update")
    assert revoked["reason_admin"] != renewed["reason_admin"]


def test_every_grant_holder_with_a_stream_is_told_under_its_own_subject(app):
    from idp.oidc.clients import register_client
    from idp.oidc.subjects import SubjectMapper

    with app.app_context():
        account = add_account()
        banks = [
            register_client(f"Bank {n}", [f"https://bank{n}.example/cb"], "client_secret_basic")[0]
            for n in range(4)
        ]
        told, also_told, no_stream, withdrawn = (bank.client_id for bank in banks)
        for client_id in (told, also_told, no_stream):
            add_consent(account, client_id)
        add_consent(account, withdrawn, revoked_at=int(time.time()))
        streams = {c: add_stream(c) for c in (told, also_told, withdrawn)}
        stranger = register_client("Stranger", ["https://s.example/cb"], "client_secret_basic")
        streams["stranger"] = add_stream(stranger[0].client_id)  # a stream, no grant

        written = card_status_changed(services(app), account, change())

        assert written == 4  # two events for each of two banks
        assert outbox(streams[withdrawn]) == []
        assert outbox(streams["stranger"]) == []
        mapper = SubjectMapper(app.config["SECRET_KEY"])
        issuer = services(app).config.issuer
        seen = {}
        for bank in banks[:2]:
            sets = outbox(streams[bank.client_id])
            assert [next(iter(s["events"])) for s in sets] == [
                events.CREDENTIAL_CHANGE,
                events.SESSION_REVOKED,
            ]
            for claims in sets:
                assert claims["iss"] == issuer
                assert claims["aud"] == bank.client_id
                assert claims["sub_id"] == {
                    "format": "iss_sub",
                    "iss": issuer,
                    "sub": mapper.for_client(account, bank),
                }
                assert "sub" not in claims
                assert "exp" not in claims
            assert sets[0]["txn"] == sets[1]["txn"]  # one underlying change
            assert sets[0]["jti"] != sets[1]["jti"]
            seen[bank.client_id] = sets[0]
        first, second = seen.values()  # nothing two banks could match their events on
        assert first["txn"] != second["txn"]
        assert first["jti"] != second["jti"]
        assert first["sub_id"]["sub"] != second["sub_id"]["sub"]

        assert card_status_changed(services(app), account, change()) == 0  # told once
        shared = services(app)[SERVER].services  # the provider's services do as well
        assert card_status_changed(shared, account, change(serial="FF")) == 4


def test_streams_choose_what_they_hear(app):
    from idp.oidc.clients import register_client
    from idp.oidc.subjects import SubjectMapper
    from idp.storage.db import db
    from idp.storage.streams import RemovedSubject

    with app.app_context():
        account = add_account()
        clients = [
            register_client(f"Bank {n}", [f"https://b{n}.example/cb"], "client_secret_basic")[0]
            for n in range(4)
        ]
        for client in clients:
            add_consent(account, client.client_id)
        paused = add_stream(clients[0].client_id, status="paused")
        disabled = add_stream(clients[1].client_id, status="disabled")
        picky = add_stream(
            clients[2].client_id, events_requested=json.dumps([events.SESSION_REVOKED])
        )
        removed = add_stream(clients[3].client_id)
        sub = SubjectMapper(app.config["SECRET_KEY"]).for_client(account, clients[3])
        db.session.add(RemovedSubject(stream_id=removed, sub=sub))
        db.session.commit()

        assert card_status_changed(services(app), account, change()) == 3
        assert len(outbox(paused)) == 2  # held until the stream is enabled again
        assert outbox(disabled) == []
        assert outbox(removed) == []
        assert [next(iter(s["events"])) for s in outbox(picky)] == [events.SESSION_REVOKED]


def test_a_past_grant_is_told_while_its_data_may_be_kept(app):
    """A per-request consent ends with its authorization, but the bank keeps the verified facts
    for the retention it registered: it must hear that they changed; after that, nothing."""
    from idp.oidc.clients import register_client

    now = int(time.time())
    with app.app_context():
        account = add_account()
        keeping, done = (
            register_client(f"Bank {n}", [f"https://k{n}.example/cb"], "client_secret_basic")[0]
            for n in range(2)
        )
        add_consent(
            account,
            keeping.client_id,
            expires_at=now - 10,
            created_at=now - 86400,
            retention_days=30,
        )
        add_consent(account, done.client_id, expires_at=now - 10, created_at=now - 40 * 86400)
        kept, gone = add_stream(keeping.client_id), add_stream(done.client_id)

        facts = change(reason="affiliationChanged", kind=SIGN)
        assert card_status_changed(services(app), account, facts) == 1
        facts_changed = events.facts_changed(services(app).config.issuer)
        assert [next(iter(s["events"])) for s in outbox(kept)] == [facts_changed]
        assert outbox(gone) == []
