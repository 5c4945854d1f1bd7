"""Revoking a consent from the account pages: the consent ends, the service's refresh tokens
and access tokens die, a back-channel logout is queued for it; anyone else's consent, a missing
CSRF token or no session changes nothing."""

from __future__ import annotations

import pytest

from idp.oidc.server import SERVER
from idp.services import services
from idp.storage.consents import Consent
from idp.storage.db import db
from idp.storage.models import Client, LogoutDelivery
from tests.account.conftest import (
    csrf_of,
    in_another_browser,
    login_tokens,
    make_account,
    open_account,
    refresh,
    sign_in,
    userinfo,
)

ALICE, BOB = "acct-alice", "acct-bob"


def _consents(app, account: str) -> list[Consent]:
    with app.app_context():
        query = db.select(Consent).filter_by(account_id=account)
        return list(db.session.execute(query).scalars())


def _deliveries(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(db.select(LogoutDelivery)).scalars()
        return [(row.client_id, row.sub, row.sid) for row in rows]


def _sub(app, account: str, client_id: str) -> str:
    shared = services(app)[SERVER].services
    with app.app_context():
        client = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one()
        return shared.subjects.for_client(account, client)


@pytest.fixture
def alice_at_the_bank(provider, make_service):
    """Alice logged in at Sample Bank (which holds her tokens) and opened her account page."""
    bank = make_service("Sample Bank")
    tokens = login_tokens(bank, ALICE)  # the same browser then opens the account pages
    (consent,) = _consents(provider, ALICE)
    return bank, tokens, consent.id


def test_revoking_ends_the_consent_the_tokens_and_queues_a_logout(
    provider, alice_at_the_bank, wakes
):
    bank, tokens, consent_id = alice_at_the_bank
    assert userinfo(bank, tokens["access_token"]).status_code == 200
    page = open_account(bank.http).get_data(as_text=True)
    assert f'id="consent-{consent_id}"' in page

    confirm = bank.http.get(f"/account/consents/{consent_id}/revoke?lang=en")
    assert confirm.status_code == 200
    assert "End access for Sample Bank?" in confirm.get_data(as_text=True)
    assert _consents(provider, ALICE)[0].revoked_at is None  # looking changes nothing

    done = bank.http.post(
        f"/account/consents/{consent_id}/revoke",
        data={"csrf_token": csrf_of(confirm.get_data(as_text=True))},
    )
    assert done.status_code == 303
    assert done.headers["Location"] == f"/account/consents/{consent_id}/revoked"
    revoked_page = bank.http.get(done.headers["Location"] + "?lang=en")
    assert revoked_page.status_code == 200
    assert "Access for Sample Bank has ended" in revoked_page.get_data(as_text=True)

    assert _consents(provider, ALICE)[0].revoked_at is not None
    answer = refresh(bank, tokens["refresh_token"])
    assert answer.status_code == 400
    assert answer.json["error"] == "invalid_grant"
    assert userinfo(bank, tokens["access_token"]).status_code == 401
    sub = _sub(provider, ALICE, bank.rp.client_id)
    assert _deliveries(provider) == [(bank.rp.client_id, sub, None)]  # every session, no sid
    assert wakes  # the courier was told at once
    after = open_account(bank.http).get_data(as_text=True)
    assert f'id="consent-{consent_id}"' not in after
    assert "you ended it" in after  # the history still names the consent


def test_revoking_twice_changes_nothing_more(provider, alice_at_the_bank):
    bank, _tokens, consent_id = alice_at_the_bank
    csrf = csrf_of(open_account(bank.http).get_data(as_text=True))
    for _ in range(2):
        response = bank.http.post(
            f"/account/consents/{consent_id}/revoke", data={"csrf_token": csrf}
        )
        assert response.status_code == 303
    assert len(_deliveries(provider)) == 1
    confirm = bank.http.get(f"/account/consents/{consent_id}/revoke")
    assert confirm.status_code == 303  # an ended consent has nothing to confirm


def test_revoking_leaves_other_services_and_other_people_alone(provider, make_service):
    bank, insurer = make_service("Sample Bank"), make_service("Sample Insurer")
    bank_tokens = login_tokens(bank, ALICE)
    insurer_tokens = login_tokens(insurer, ALICE)
    bob_bank = in_another_browser(provider, bank)
    bob_tokens = login_tokens(bob_bank, BOB)
    consent = next(c for c in _consents(provider, ALICE) if c.client_id == bank.rp.client_id)
    csrf = csrf_of(open_account(bank.http).get_data(as_text=True))
    bank.http.post(f"/account/consents/{consent.id}/revoke", data={"csrf_token": csrf})

    assert refresh(bank, bank_tokens["refresh_token"]).status_code == 400
    assert userinfo(insurer, insurer_tokens["access_token"]).status_code == 200
    assert refresh(insurer, insurer_tokens["refresh_token"]).status_code == 200
    assert userinfo(bob_bank, bob_tokens["access_token"]).status_code == 200
    assert refresh(bob_bank, bob_tokens["refresh_token"]).status_code == 200
    assert all(c.revoked_at is None for c in _consents(provider, BOB))


def test_someone_elses_consent_is_not_found_and_nothing_changes(provider, alice_at_the_bank):
    bank, tokens, alice_consent = alice_at_the_bank
    mallory = provider.test_client()
    sign_in(provider, mallory, make_account(provider, "acct-mallory"))
    csrf = csrf_of(open_account(mallory).get_data(as_text=True))
    for method, path in (
        ("get", f"/account/consents/{alice_consent}/revoke"),
        ("post", f"/account/consents/{alice_consent}/revoke"),
        ("get", f"/account/consents/{alice_consent}/revoked"),
        ("post", f"/account/consents/{'x' * 200}/revoke"),
        ("get", "/account/consents/nonexistent/revoke"),
    ):
        response = getattr(mallory, method)(path, data={"csrf_token": csrf})
        assert response.status_code == 404, path
        html = response.get_data(as_text=True)
        assert 'data-problem="not_found"' in html
        assert "Sample Bank" not in html
    assert _consents(provider, ALICE)[0].revoked_at is None
    assert refresh(bank, tokens["refresh_token"]).status_code == 200
    assert _deliveries(provider) == []


@pytest.mark.parametrize("csrf", [None, "", "forged-token-" + "x" * 40])
def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_changes(
    provider, alice_at_the_bank, csrf
):
    bank, tokens, consent_id = alice_at_the_bank
    open_account(bank.http)  # the session has a CSRF token; the form does not echo it
    data = {} if csrf is None else {"csrf_token": csrf}
    response = bank.http.post(f"/account/consents/{consent_id}/revoke", data=data)
    assert response.status_code == 400
    assert 'data-problem="bad_request"' in response.get_data(as_text=True)
    assert _consents(provider, ALICE)[0].revoked_at is None
    assert userinfo(bank, tokens["access_token"]).status_code == 200
    assert _deliveries(provider) == []


def test_without_a_session_a_revoke_goes_back_to_the_overview_and_changes_nothing(
    provider, alice_at_the_bank
):
    bank, tokens, consent_id = alice_at_the_bank
    stranger = provider.test_client()
    response = stranger.post(f"/account/consents/{consent_id}/revoke", data={"csrf_token": "x"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert _consents(provider, ALICE)[0].revoked_at is None
    assert refresh(bank, tokens["refresh_token"]).status_code == 200


def test_a_revoked_service_must_ask_again(provider, alice_at_the_bank):
    bank, _tokens, consent_id = alice_at_the_bank
    csrf = csrf_of(open_account(bank.http).get_data(as_text=True))
    bank.http.post(f"/account/consents/{consent_id}/revoke", data={"csrf_token": csrf})
    login_tokens(bank, ALICE)  # the test screen approves again: a new consent row
    consents = _consents(provider, ALICE)
    assert len(consents) == 2
    assert sum(c.revoked_at is None for c in consents) == 1


def _load_income(app, account: str) -> None:
    from idp.storage.selfinfo import SelfInformation, canonical_json, content_hash
    from tests.selfinfo.samples import SAMPLES

    data = SAMPLES["income"]
    with app.app_context():
        db.session.add(
            SelfInformation(
                account_id=account,
                category="income",
                data=canonical_json(data),
                content_hash=content_hash(data, "2026-06-01"),
                as_of="2026-06-01",
            )
        )
        db.session.commit()


def test_after_revoking_the_services_next_self_information_read_is_refused(provider, make_service):
    bank = make_service("Sample Bank", scope="openid selfinfo:income")
    tokens = login_tokens(bank, ALICE, scope="openid selfinfo:income")
    _load_income(provider, ALICE)
    read = bank.http.get(
        "/selfinfo/v1/income", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert read.status_code == 200, read.get_data(as_text=True)
    page = open_account(bank.http).get_data(as_text=True)
    assert "Self-information read" in page
    consent = next(c for c in _consents(provider, ALICE) if c.revoked_at is None)
    bank.http.post(f"/account/consents/{consent.id}/revoke", data={"csrf_token": csrf_of(page)})
    again = bank.http.get(
        "/selfinfo/v1/income", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert again.status_code == 401
    assert 'error="invalid_token"' in again.headers["WWW-Authenticate"]


def test_an_access_token_from_before_the_last_refresh_is_refused_too(provider, alice_at_the_bank):
    """Revoking a family forgets only its newest access token; the withdrawal marker refuses
    the older ones the service may still hold."""
    bank, tokens, consent_id = alice_at_the_bank
    rotated = refresh(bank, tokens["refresh_token"])
    assert rotated.status_code == 200
    older, newer = tokens["access_token"], rotated.json["access_token"]
    assert userinfo(bank, older).status_code == 200
    csrf = csrf_of(open_account(bank.http).get_data(as_text=True))
    bank.http.post(f"/account/consents/{consent_id}/revoke", data={"csrf_token": csrf})
    for token in (older, newer):
        refused = userinfo(bank, token)
        assert refused.status_code == 401
        assert "invalid_token" in refused.headers["WWW-Authenticate"]
