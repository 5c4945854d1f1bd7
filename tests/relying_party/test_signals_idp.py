"""The IdP's Shared Signals transmitter and the sample bank's receiver, for real: the bank
subscribes (``subscription.subscribe``: SSF metadata, a client_credentials token with its
private_key_jwt and DPoP, its push stream created, then verified by the event it asked for), and
a card's status change at the IdP (``card_status_changed``, what the card-status listener calls)
reaches the bank by push (RFC 8935) as a SET the bank checks against the IdP's keys and acts on;
so do the changes handed to the IdP's card-status listener (``idp.cardstatus``), as its CRL and
revocation-feed watcher hands them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from joserfc import jwt

from examples.relying_party import signals
from examples.relying_party.subscription import STREAM_FILE, receiver, subscribe
from idp.cardstatus import LISTENER
from idp.jpki.settings import CertificateType
from idp.jpki.status import Status, StatusChange, issuer_hash_of, serial_hex
from idp.oidc.server import SERVER
from idp.services import services
from idp.ssf.signals import card_status_changed
from idp.ssf.streams import COURIER
from idp.storage.db import db
from idp.storage.signing_certificates import note_signing_certificate
from tests.relying_party.conftest import ACCOUNT, apply, csrf, session_data


@pytest.fixture(scope="module")
def subscribed(bank, idp) -> Iterator[dict]:
    """The bank's verified push stream at the IdP (the courier stopped afterwards)."""
    found = receiver(bank.app)
    result = subscribe(found, wait=20)
    try:
        yield result
    finally:
        if courier := services(idp.app)[COURIER]:
            courier.stop()
        (bank.settings.instance / STREAM_FILE).unlink(missing_ok=True)


def change(world, kind: CertificateType, status: Status, reason: str | None) -> StatusChange:
    """A change of the sandbox card's certificate (the one bound to the bank's applicant)."""
    card = world.card
    certificate = card.certificate if kind is CertificateType.SIGN else card.auth_certificate
    return StatusChange(
        issuer_hash=issuer_hash_of(certificate.issuer),
        serial=serial_hex(certificate.serial_number),
        kind=kind,
        status=status,
        reason=reason,
        changed_at=dt.datetime.now(dt.UTC),
        source="crl",
    )


def tell(idp, status_change: StatusChange) -> int:
    """What the card-status listener does with a change it matched to the account."""
    with idp.app.app_context():
        return card_status_changed(services(idp.app), ACCOUNT, status_change)


def told_of(bank, sub: str, event: str) -> int:
    """How many events of this type the bank has been told about this customer."""
    return sum(n.event == event for n in bank.app.extensions["bank.signals"].notices(sub))


def eventually(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_the_bank_subscribes_by_push_and_its_stream_is_verified(bank, idp, subscribed):
    assert subscribed["verified"] is True
    kept = receiver(bank.app).stream()
    assert kept["stream_id"] == subscribed["stream_id"]
    assert kept["verified_at"]
    assert not kept["verification_state"]
    assert signals.facts_changed(idp.url) in subscribed["events_delivered"]
    assert signals.SESSION_REVOKED in subscribed["events_delivered"]


def test_subscribing_again_updates_the_same_stream_even_with_a_stale_stream_id(
    bank, idp, subscribed
):
    time.sleep(5.1)  # the transmitter's min_verification_interval
    found = receiver(bank.app)
    secret = found.stream()["authorization"]
    found.keep(stream_id="a-stream-the-idp-does-not-have")
    again = subscribe(found, wait=20)
    assert again["stream_id"] == subscribed["stream_id"]  # no second stream (409)
    assert again["verified"] is True
    assert found.stream()["authorization"] == secret


def test_a_set_signed_with_the_idps_key_of_another_algorithm_is_refused(
    browser, bank, idp, subscribed
):
    """The bank registered ES256 (FAPI 2.0): an RS256 SET is refused even under the IdP's own
    published key."""
    apply(browser, bank)
    sub = session_data(bank, browser)["sub"]
    with idp.app.app_context():
        key = services(idp.app)[SERVER].services.ring().signing_key("RS256")
    claims = {
        "iss": idp.url, "aud": bank.client_id, "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16), "events": {signals.SESSION_REVOKED: {}},
        "sub_id": {"format": "iss_sub", "iss": idp.url, "sub": sub},
    }  # fmt: skip
    header = {"alg": "RS256", "kid": key.kid, "typ": "secevent+jwt"}
    token = jwt.encode(header, claims, key, algorithms=["RS256"])
    answer = requests.post(
        bank.url + "/ssf/events",
        data=token,
        headers={"Content-Type": "application/secevent+jwt",
                 "Authorization": receiver(bank.app).stream()["authorization"]},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_key"
    assert session_data(bank, browser).get("login")


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        (CertificateType.AUTH, Status.REVOKED, "keyCompromise"),
        (CertificateType.AUTH, Status.ON_HOLD, "certificateHold"),
    ],
)
def test_a_lost_or_suspended_card_ends_the_bank_session(
    browser, bank, idp, world, subscribed, kind, status, reason
):
    apply(browser, bank)
    assert session_data(bank, browser).get("login")
    assert tell(idp, change(world, kind, status, reason)) >= 1
    assert eventually(lambda: session_data(bank, browser) == {})
    assert browser.get(bank.url + "/application").status_code == 401


def test_a_changed_address_asks_for_verification_again(browser, bank, idp, world, subscribed):
    first = apply(browser, bank)
    assert 'id="reverify"' not in first.text
    sub = session_data(bank, browser)["sub"]
    told = told_of(bank, sub, signals.facts_changed(idp.url))
    facts = change(world, CertificateType.SIGN, Status.REVOKED, "affiliationChanged")
    assert tell(idp, facts) == 1
    assert eventually(lambda: told_of(bank, sub, signals.facts_changed(idp.url)) > told)
    page = browser.get(bank.url + "/application?lang=ja")
    assert session_data(bank, browser).get("login")  # the application waits, not ended
    assert "本人確認のやり直しが必要です" in page.text
    time.sleep(1.1)  # a login is stamped to the second
    again = browser.post(
        bank.url + "/application/verify-again", data={"csrf_token": csrf(page.text)}
    )
    assert again.url == bank.url + "/application"
    assert 'id="reverify"' not in again.text


def test_a_released_hold_is_noted_and_ends_nothing(browser, bank, idp, world, subscribed):
    apply(browser, bank)
    sub = session_data(bank, browser)["sub"]
    told = told_of(bank, sub, signals.ACCOUNT_ENABLED)
    release = change(world, CertificateType.AUTH, Status.RELEASED, "removeFromCRL")
    assert tell(idp, release) == 1
    assert eventually(lambda: told_of(bank, sub, signals.ACCOUNT_ENABLED) > told)
    assert session_data(bank, browser).get("login")


# --- through the IdP's card-status listener (the CRL and feed watcher hand it their changes) ---


def listener_tells(idp, *changes: StatusChange) -> None:
    services(idp.app)[LISTENER].changed(list(changes))


def test_the_card_status_listener_tells_the_bank_of_a_changed_address(
    browser, bank, idp, world, subscribed
):
    signing = world.card.certificate
    with idp.app.app_context():  # as the consent's identity step with this card records it
        note_signing_certificate(
            ACCOUNT, signing.issuer.rfc4514_string(), serial_hex(signing.serial_number),
            int(time.time()), issuer_hash_of(signing.issuer),
        )  # fmt: skip
        db.session.commit()
    apply(browser, bank)
    sub = session_data(bank, browser)["sub"]
    told = told_of(bank, sub, signals.facts_changed(idp.url))
    listener_tells(idp, change(world, CertificateType.SIGN, Status.REVOKED, "affiliationChanged"))
    assert eventually(lambda: told_of(bank, sub, signals.facts_changed(idp.url)) > told)
    page = browser.get(bank.url + "/application?lang=ja")
    assert "本人確認のやり直しが必要です" in page.text
    assert session_data(bank, browser).get("login")


def test_the_card_status_listener_tells_the_bank_of_a_hold_and_its_release(
    browser, bank, idp, world, subscribed
):
    apply(browser, bank)
    sub = session_data(bank, browser)["sub"]
    disabled = told_of(bank, sub, signals.ACCOUNT_DISABLED)
    hold = change(world, CertificateType.AUTH, Status.ON_HOLD, "certificateHold")
    hold = dataclasses.replace(hold, changed_at=hold.changed_at - dt.timedelta(seconds=10))
    listener_tells(idp, hold)
    assert eventually(lambda: told_of(bank, sub, signals.ACCOUNT_DISABLED) > disabled)
    assert eventually(lambda: session_data(bank, browser) == {})

    apply(browser, bank)  # the customer logs in again (the testing IdP needs no card)
    enabled = told_of(bank, sub, signals.ACCOUNT_ENABLED)
    listener_tells(idp, change(world, CertificateType.AUTH, Status.RELEASED, "removeFromCRL"))
    assert eventually(lambda: told_of(bank, sub, signals.ACCOUNT_ENABLED) > enabled)
    assert session_data(bank, browser).get("login")
