"""``idp.consent.withdrawal.revoke_consent`` on rows written directly: exactly this account's
families at this client die, the logout names the client's own ``sub`` without ``sid``, and a
second revocation changes nothing."""

from __future__ import annotations

import json
import time

from idp.consent.withdrawal import live_families, revoke_consent
from idp.oidc.refresh import add_token, new_family, use_token
from idp.oidc.server import SERVER
from idp.services import services
from idp.storage.consents import Consent
from idp.storage.db import db
from idp.storage.models import LogoutDelivery, TokenFamily
from tests.account.conftest import add_consent, make_account

GRANT = {"auth_time": 0, "acr": "x", "amr": [], "sid": "sid-1", "dpop_jkt": None, "claims": {}}


def _setup(provider, make_service, backchannel=True):
    """Alice and Bob each hold a family at the bank; Alice holds one at the insurer too."""
    shared = services(provider)[SERVER].services
    bank = make_service("Bank", backchannel=backchannel)
    insurer = make_service("Insurer")
    alice, bob = make_account(provider), make_account(provider)
    tokens = {}
    with provider.app_context():
        from idp.oidc.clients import find_client

        for who, service in ((alice, bank), (bob, bank), (alice, insurer)):
            client = find_client(service.rp.client_id)
            sub = shared.subjects.for_client(who, client)
            jti = f"jti-{who}-{service.name}"
            family = new_family(client.client_id, sub, "openid", GRANT, 3600, jti)
            add_token(family, f"refresh-{who}-{service.name}")
            db.session.commit()
            tokens[(who, service.name)] = f"refresh-{who}-{service.name}"
            shared.store().set(f"grant:jti-{who}-{service.name}", b"{}", 600)
    consent = add_consent(provider, alice, bank.rp.client_id, client_name="Bank")
    return shared, bank, alice, bob, tokens, consent


def test_only_this_accounts_families_at_this_client_are_revoked(provider, make_service, wakes):
    services, bank, alice, bob, tokens, consent_id = _setup(provider, make_service)
    now = int(time.time())
    with provider.app_context():
        consent = db.session.get(Consent, consent_id)
        done = revoke_consent(services, consent, now)
        assert done.families_revoked == 1
        assert done.logout_queued
        assert db.session.get(Consent, consent_id).revoked_at == now
        assert use_token(tokens[(alice, "Bank")], services.store()) is None
        assert services.store().get("grant:jti-" + alice + "-Bank") is None
        assert use_token(tokens[(bob, "Bank")], services.store()) is not None
        assert use_token(tokens[(alice, "Insurer")], services.store()) is not None
        assert services.store().get("grant:jti-" + bob + "-Bank") is not None
        (delivery,) = db.session.execute(db.select(LogoutDelivery)).scalars()
        family = db.session.execute(
            db.select(TokenFamily)
            .filter_by(client_id=bank.rp.client_id)
            .where(TokenFamily.revoked_at.is_not(None))
        ).scalar_one()
        assert delivery.client_id == bank.rp.client_id
        assert (delivery.sub, delivery.sid) == (family.sub, None)
    assert wakes == [1]


def test_a_second_revocation_changes_nothing(provider, make_service, wakes):
    services, _bank, _alice, _bob, _tokens, consent_id = _setup(provider, make_service)
    with provider.app_context():
        consent = db.session.get(Consent, consent_id)
        revoke_consent(services, consent, int(time.time()) - 5)
        first = consent.revoked_at
        again = revoke_consent(services, consent, int(time.time()))
        assert (again.families_revoked, again.logout_queued) == (0, False)
        assert db.session.get(Consent, consent_id).revoked_at == first
        assert len(db.session.execute(db.select(LogoutDelivery)).scalars().all()) == 1
    assert wakes == [1]


def test_a_client_without_back_channel_logout_gets_none(provider, make_service, wakes):
    services, bank, alice, _bob, _tokens, consent_id = _setup(
        provider, make_service, backchannel=False
    )
    with provider.app_context():
        done = revoke_consent(services, db.session.get(Consent, consent_id), int(time.time()))
        assert done.families_revoked == 1
        assert not done.logout_queued
        assert db.session.execute(db.select(LogoutDelivery)).scalars().all() == []
        assert live_families(services, alice, bank.rp.client_id, int(time.time())) == []
    assert wakes == []


def test_a_client_that_no_longer_exists_still_has_its_consent_revoked(provider, wakes):
    shared = services(provider)[SERVER].services
    alice = make_account(provider)
    consent_id = add_consent(provider, alice, "removed-client")
    with provider.app_context():
        done = revoke_consent(shared, db.session.get(Consent, consent_id), int(time.time()))
        assert (done.families_revoked, done.logout_queued) == (0, False)
        assert db.session.get(Consent, consent_id).revoked_at is not None
        assert json.loads(db.session.get(Consent, consent_id).items)  # the row stays
