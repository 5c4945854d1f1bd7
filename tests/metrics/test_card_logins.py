"""Card logins and revocation, counted against the sandbox (live OCSP responder, CRLs, cards):
success by revocation source, refusals by reason, OCSP requests and cache, CRL refreshes; and
no personal data anywhere in the exposition."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

import datetime as dt

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.jpki.settings import CertificateType
from idp.services import services
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind
from sandbox.server import free_port
from tests.login.cards import bridge_result
from tests.login.conftest import (  # noqa: F401 - fixtures of the card login's world
    catalogues,
    database_url,
    login_page,
    rp,
    through_consent,
    world,
)
from tests.metrics.conftest import scrape
from tests.oidc.rp import query

LOGINS = "jpki_idp_card_logins_total"
REFUSALS = "jpki_idp_card_login_refusals_total"
OCSP = "jpki_idp_ocsp_requests_total"
LOOKUPS = "jpki_idp_ocsp_cache_lookups_total"
AUTH = {"type": "auth"}


def _login(page, card):
    return page.post(bridge_result(card.certificate, card.key, page.challenge()))


def _delta(before, after, name, **labels) -> float:
    return after[name, labels] - before[name, labels]


def test_a_good_card_counts_a_login_by_ocsp_and_then_a_cache_hit(card_app, login_page, world):
    before = scrape(card_app)
    assert _login(login_page(), world.good).status_code == 303
    middle = scrape(card_app)
    assert _delta(before, middle, LOGINS, revocation="ocsp") == 1
    assert _delta(before, middle, OCSP, type="auth", outcome="good") == 1
    assert _delta(before, middle, LOOKUPS, type="auth", result="miss") == 1
    duration = "jpki_idp_ocsp_request_duration_seconds_count"
    assert _delta(before, middle, duration, **AUTH) == 1
    assert _login(login_page(prompt="login"), world.good).status_code == 303
    after = scrape(card_app)
    assert _delta(middle, after, LOGINS, revocation="ocsp") == 1
    assert _delta(middle, after, LOOKUPS, type="auth", result="hit") == 1
    assert _delta(middle, after, OCSP, type="auth", outcome="good") == 0


@pytest.mark.parametrize(("card", "reason"), [("revoked", "revoked"), ("on_hold", "on_hold"),
                                              ("expired", "expired")])  # fmt: skip
def test_a_refused_card_counts_its_reason_and_no_login(card_app, login_page, world, card, reason):
    before = scrape(card_app)
    assert _login(login_page(), getattr(world, card)).status_code == 403
    after = scrape(card_app)
    assert _delta(before, after, REFUSALS, reason=reason) == 1
    assert _delta(before, after, LOGINS, revocation="ocsp") == 0
    if card != "expired":  # the OCSP answer itself said so
        assert _delta(before, after, OCSP, type="auth", outcome=reason) == 1


def test_a_bad_signature_and_a_missing_csrf_token_are_refusals(card_app, login_page, world):
    before = scrape(card_app)
    page = login_page()
    other = bridge_result(world.good.certificate, world.other.key, page.challenge())
    assert page.post(other).status_code in (400, 403)
    page = login_page()
    assert page.post("{}", csrf=None).status_code in (400, 403)
    after = scrape(card_app)
    refused = {labels["reason"]: after[REFUSALS, labels] - before[REFUSALS, labels]
               for labels in after.labelled(REFUSALS)}  # fmt: skip
    assert refused["csrf"] == 1
    assert sum(refused.values()) == 2
    assert _delta(before, after, LOGINS, revocation="ocsp") == 0


def test_the_responder_down_counts_the_refusal_and_the_failed_request(card_app, login_page, world):
    before = scrape(card_app)
    page = login_page()
    with world.server.misbehaving(ocsp="down"):
        assert _login(page, world.good).status_code == 503
    after = scrape(card_app)
    [reason] = [labels["reason"] for labels in after.labelled(REFUSALS)
                if after[REFUSALS, labels] > before[REFUSALS, labels]]  # fmt: skip
    assert reason in ("responder_unavailable", "responder_timeout")
    assert _delta(before, after, OCSP, type="auth", outcome=reason) == 1


def test_crl_refreshes_are_counted_and_next_update_is_a_gauge(card_app, world, tmp_path):
    from idp.jpki.anchors import TrustAnchors
    from idp.jpki.crl import CrlStatusSource
    from idp.jpki.crl_updater import CrlUpdater
    from idp.jpki.errors import ResponderUnavailable
    from idp.jpki.transport import HttpTransport
    from idp.metrics.observers import RevocationMetrics

    settings = services(card_app).config.jpki
    settings = settings.__class__(**{**settings.__dict__, "crl_urls": {
        CertificateType.AUTH: world.server.crl_url(CertKind.AUTH),
        CertificateType.SIGN: f"http://127.0.0.1:{free_port()}/nobody-listens.crl",
    }})  # fmt: skip
    roots = TrustAnchors.from_settings(settings).roots
    updater = CrlUpdater(settings, roots, HttpTransport(), observer=RevocationMetrics())
    before = scrape(card_app)
    assert before.labelled("jpki_idp_crl_next_update_timestamp_seconds") == []
    now = dt.datetime.now(dt.UTC)
    updater.refresh(CertificateType.AUTH, now)
    with pytest.raises(ResponderUnavailable):
        updater.refresh(CertificateType.SIGN, now)
    after = scrape(card_app)
    refreshes = "jpki_idp_crl_refreshes_total"
    assert _delta(before, after, refreshes, type="auth", outcome="succeeded") == 1
    assert _delta(before, after, refreshes, type="sign", outcome="responder_unavailable") == 1
    held = CrlStatusSource(settings.crl_index_dir, CertificateType.AUTH).next_update()
    gauge = "jpki_idp_crl_next_update_timestamp_seconds"
    assert after[gauge, AUTH] == held.timestamp()
    assert after.labelled(gauge) == [AUTH]


def test_no_personal_data_in_the_exposition_after_a_login(card_app, rp, login_page, world):
    from sqlalchemy import select

    from idp.storage.accounts import Account, CertificateBinding
    from idp.storage.db import db

    page = login_page()
    response = through_consent(page.http, _login(page, world.good))
    token = rp.token(query(response.headers["Location"])["code"])
    assert token.status_code == 200
    keys = KeySet.import_key_set(card_app.test_client().get("/jwks").json)
    sub = jwt.decode(token.json["id_token"], keys).claims["sub"]
    with card_app.app_context():
        [account] = db.session.execute(select(Account.id)).scalars()
        [binding] = db.session.execute(select(CertificateBinding)).scalars()
        issuer_hash = binding.issuer_hash
    serial = world.good.certificate.serial_number
    citizen = SAMPLE_CITIZENS[0]
    text = scrape(card_app).text
    forbidden = [sub, account, issuer_hash, f"{serial:X}", f"{serial:x}", str(serial),
                 citizen.name, *citizen.name.split("　"), citizen.address, rp.client_id,
                 token.json["access_token"], token.json["refresh_token"], "127.0.0.1"]  # fmt: skip
    assert [value for value in forbidden if value in text] == []
