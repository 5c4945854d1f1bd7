"""Consent decisions, card step-ups and identity verifications (eKYC with the signing
certificate), counted through the consent screen of a card-login IdP."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

from tests.consent.conftest import (  # noqa: F401 - fixtures of the consent screen's world
    card_result,
    catalogues,
    consent_page,
    database_url,
    identity_result,
    logged_in,
    login_page,
    rp,
    world,
)
from tests.consent.test_card_step import IDENTITY_CLAIMS, SELFINFO
from tests.metrics.conftest import scrape

DECISIONS = "jpki_idp_consent_decisions_total"
REFUSALS = "jpki_idp_consent_refusals_total"
STEP_UPS = "jpki_idp_card_step_ups_total"
IDENTITY = "jpki_idp_identity_verifications_total"


def _changed(before, after, name: str) -> dict[tuple, float]:
    """Every sample of ``name`` that moved, by its label values."""
    moved = {}
    for labels in after.labelled(name):
        delta = after[name, labels] - before[name, labels]
        if delta:
            moved[tuple(sorted(labels.values()))] = delta
    return moved


def test_approve_and_deny_without_a_card(card_app, consent_page):
    before = scrape(card_app)
    assert consent_page().decide("deny").status_code == 302
    assert consent_page(prompt="login").decide("approve").status_code == 302
    after = scrape(card_app)
    assert _changed(before, after, DECISIONS) == {("approved", "none"): 1, ("denied", "none"): 1}


def test_a_step_up_with_the_authentication_key(card_app, consent_page, world):
    before = scrape(card_app)
    page = consent_page(scope=SELFINFO)
    assert page.step_up(world.good).status_code == 302
    after = scrape(card_app)
    assert _changed(before, after, DECISIONS) == {("approved", "auth"): 1}
    assert _changed(before, after, STEP_UPS) == {("verified",): 1}
    assert _changed(before, after, IDENTITY) == {}


def test_an_identity_verification_with_the_signing_certificate(card_app, consent_page, world):
    before = scrape(card_app)
    page = consent_page(claims=IDENTITY_CLAIMS)
    items = ["openid", "verified:name", "verified:birthdate"]
    issued = page.challenge(items).json["challenge"]
    result = identity_result(world, world.good, issued)
    assert page.approve(result, items).status_code == 302
    after = scrape(card_app)
    assert _changed(before, after, DECISIONS) == {("approved", "sign"): 1}
    assert _changed(before, after, IDENTITY) == {("verified",): 1}


def test_a_refused_identity_verification_counts_its_reason(card_app, consent_page, world):
    before = scrape(card_app)
    page = consent_page(claims=IDENTITY_CLAIMS)
    issued = page.challenge().json["challenge"]
    refused = page.approve(card_result(world.good.certificate, world.good.key, issued, "login"))
    assert refused.status_code == 400  # one key only: the old protocol
    after = scrape(card_app)
    [(reason,)] = _changed(before, after, IDENTITY)
    assert reason == "bridge_outdated"
    assert _changed(before, after, DECISIONS) == {}


def test_refused_forms_count_their_reason(card_app, consent_page):
    before = scrape(card_app)
    page = consent_page(scope=SELFINFO)
    assert page.decide("approve", csrf="forged").status_code in (400, 403)
    assert page.decide("approve").status_code in (400, 403)  # self-information needs the card
    assert page.decide("approve", items=["not-requested"]).status_code in (400, 403)
    after = scrape(card_app)
    assert _changed(before, after, REFUSALS) == {
        ("csrf",): 1,
        ("card_step_skipped",): 1,
        ("altered_form",): 1,
    }
    assert _changed(before, after, DECISIONS) == {}
