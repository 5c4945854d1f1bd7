"""The consent's card step: approving self-information needs a fresh signature of
the logged-in person's card over a challenge bound to exactly what is approved; verified
identity needs the signing certificate. Every refusal records nothing and sends nothing."""

from __future__ import annotations

import base64
import json
import re

import pytest

from idp.consent.decisions import content_digest
from idp.jpki.challenge import bound_value, decode
from idp.oidc.authenticator import ACR_SIGN_IDENTITY
from tests.consent.conftest import card_result, identity_result, open_consent, signing_card
from tests.consent.test_decisions import consents, grant_of, token_for
from tests.login.cards import bridge_result
from tests.oidc.rp import query
from tests.verified.helpers import claims_param, verified

SELFINFO = "openid selfinfo:income selfinfo:household"


def _pending(app, page):
    from idp.consent.consenting import pending_consent

    with app.test_request_context():
        from flask import session

        with page.http.session_transaction() as browser:
            session.update(browser)
        return pending_consent(page.transaction)


def test_self_information_is_approved_with_a_fresh_card_signature(card_app, rp, consent_page,
                                                                  world):  # fmt: skip
    page = consent_page(scope=SELFINFO)
    request = _pending(card_app, page)
    issued = page.challenge()
    assert issued.status_code == 200
    assert issued.json["key"] == "auth"
    assert issued.json["service"] == "Sample Bank"
    result = card_result(world.good.certificate, world.good.key, issued.json["challenge"], "login")
    response = page.approve(result)
    token = token_for(rp, response)
    assert set(token["scope"].split()) >= {"selfinfo:income", "selfinfo:household"}
    [consent] = consents(card_app)
    assert consent.auth_method == "card-step-up"
    assert consent.per_request
    evidence = json.loads(consent.evidence)
    granted = ("openid", "selfinfo:income", "selfinfo:household")
    assert evidence["content_digest"] == content_digest(request, granted)
    assert consent.content_digest == evidence["content_digest"]
    nonce = base64.urlsafe_b64decode(evidence["nonce"] + "=")
    bound = bound_value(nonce, bytes.fromhex(evidence["content_digest"]))
    assert decode(issued.json["challenge"]) == bound  # the card signed the approval's content
    assert evidence["serial"] == f"{world.good.certificate.serial_number:X}"
    assert len(evidence["issuer_hash"]) == 64
    assert evidence["signature"] == json.loads(result)["signature"]
    assert grant_of(card_app, token["access_token"])["consent_id"] == consent.id


def test_partial_approval_with_the_card_leaves_the_unticked_item_out(card_app, rp, consent_page,
                                                                      world):  # fmt: skip
    page = consent_page(scope=SELFINFO)
    token = token_for(rp, page.step_up(world.good, ["openid", "selfinfo:income"]))
    scopes = token["scope"].split()
    assert "selfinfo:income" in scopes
    assert "selfinfo:household" not in scopes
    assert consents(card_app)[0].granted() == ["openid", "selfinfo:income"]


def test_self_information_without_the_card_step_is_refused(card_app, consent_page):
    page = consent_page(scope=SELFINFO)
    refused = page.decide("approve")  # the plain form, as without the script
    assert refused.status_code == 400
    assert 'data-reason="card_needed"' in refused.get_data(as_text=True)
    no_result = page.approve(None)
    assert no_result.status_code == 400
    assert 'data-reason="no_card_step"' in no_result.get_data(as_text=True)
    assert consents(card_app) == []
    assert page.http.get(page.path).status_code == 200  # still pending


def test_a_malformed_result_is_refused_and_uses_up_the_challenge(card_app, consent_page, world):
    page = consent_page(scope=SELFINFO)
    issued = page.challenge().json["challenge"]
    refused = page.approve("{not json")
    assert refused.status_code == 403
    assert 'data-reason="generic"' in refused.get_data(as_text=True)
    late = page.approve(card_result(world.good.certificate, world.good.key, issued, "login"))
    assert late.status_code == 400
    assert 'data-reason="no_card_step"' in late.get_data(as_text=True)
    assert consents(card_app) == []


def test_a_signature_bound_to_other_content_is_refused(card_app, consent_page, world):
    """The card signed for income and household; the form then claims income only."""
    page = consent_page(scope=SELFINFO)
    issued = page.challenge().json["challenge"]
    result = card_result(world.good.certificate, world.good.key, issued, "login")
    refused = page.approve(result, ["openid", "selfinfo:income"])
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'data-reason="changed"' in html
    assert 'id="back-to-request"' in html
    assert consents(card_app) == []


def test_a_signature_over_another_challenge_is_refused(card_app, consent_page, world):
    page = consent_page(scope=SELFINFO)
    page.challenge(["openid", "selfinfo:income"])
    other = page.challenge(["openid", "selfinfo:household"]).json["challenge"]  # replaces it
    signed = bridge_result(world.good.certificate, world.good.key, other)
    refused = page.approve(signed, ["openid", "selfinfo:income"])  # the first one's items
    assert refused.status_code == 400
    assert 'data-reason="changed"' in refused.get_data(as_text=True)
    assert consents(card_app) == []


def test_another_persons_card_is_refused(card_app, rp, consent_page, logged_in, world):
    """The other card has an account of its own; it still cannot approve for this one."""
    rp.http = card_app.test_client()
    logged_in(world.other)  # the other person's account exists
    rp.http = card_app.test_client()
    page = consent_page(scope=SELFINFO)
    refused = page.step_up(world.other)
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert 'data-reason="another_card"' in html
    assert "ログインに使ったカードではありません" in html
    assert consents(card_app) == []
    assert page.step_up(world.good).status_code == 302  # the right card still can


def test_a_replayed_step_up_is_refused(card_app, rp, consent_page, world):
    page = consent_page(scope=SELFINFO)
    issued = page.challenge().json["challenge"]
    result = card_result(world.good.certificate, world.good.key, issued, "login")
    assert page.approve(result).status_code == 302
    again = page.approve(result)  # the same answer, the same transaction
    assert again.status_code == 400
    assert 'data-reason="consent_gone"' in again.get_data(as_text=True)
    second = open_consent(rp.http, rp.authorize(scope=SELFINFO))
    second.challenge()
    replayed = second.approve(result)  # the old answer in a new approval
    assert replayed.status_code == 403
    assert 'data-reason="generic"' in replayed.get_data(as_text=True)
    assert len(consents(card_app)) == 1


def test_the_card_step_needs_the_csrf_token_and_a_refusal_changes_nothing(card_app, consent_page,
                                                                          world):  # fmt: skip
    page = consent_page(scope=SELFINFO)
    assert page.challenge(csrf=None).status_code == 403
    assert page.challenge(csrf="forged").status_code == 403
    issued = page.challenge().json["challenge"]
    result = card_result(world.good.certificate, world.good.key, issued, "login")
    refused = page.approve(result, csrf=None)
    assert refused.status_code == 400
    assert 'data-reason="bad_request"' in refused.get_data(as_text=True)
    assert consents(card_app) == []
    assert page.approve(result).status_code == 302  # the challenge was not used up


def test_a_challenge_for_items_needing_no_card_or_not_requested_is_refused(consent_page):
    page = consent_page(scope=SELFINFO)
    assert page.challenge(["openid"]).status_code == 400
    assert page.challenge(["openid", "selfinfo:pension"]).status_code == 400
    assert page.challenge(["selfinfo:income"]).status_code == 400  # required item left out


@pytest.mark.parametrize(("card", "reason"), [("revoked", "revoked"), ("on_hold", "on_hold")])
def test_a_refused_certificate_gets_the_login_wording_and_the_way_back(
    card_app, consent_page, world, card, reason
):
    page = consent_page(scope=SELFINFO)
    refused = page.step_up(getattr(world, card))
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert f'data-reason="{reason}"' in html
    assert "市区町村の窓口" in html
    assert 'id="back-to-request"' in html
    assert 'id="back-to-service"' in html
    assert consents(card_app) == []
    switch = re.search(r'href="([^"]+)"[^>]*id="switch-language"', html).group(1)
    assert switch == f"{page.path}/refused/{reason}/auth?lang=en"
    english = page.http.get(switch.replace("&amp;", "&"))
    assert f'data-reason="{reason}"' in english.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_the_responder_down_is_service_unavailable(card_app, consent_page, world):
    """The signing certificate's status has never been asked: with the responder down it
    cannot be established, and nothing is approved."""
    page = consent_page(acr_values=ACR_SIGN_IDENTITY)
    with world.server.misbehaving(ocsp="down"):
        refused = page.identify(world, world.good, ["openid"])
    assert refused.status_code == 503
    html = refused.get_data(as_text=True)
    assert 'data-reason="unavailable"' in html
    assert "何も提供されていません" in html
    assert consents(card_app) == []
    again = page.identify(world, world.good, ["openid"])  # within ocsp_failure_ttl: not asked
    assert again.status_code == 503  # the failure a moment ago, replayed at once
    assert consents(card_app) == []


def test_after_a_tampered_answer_the_person_can_try_again(card_app, consent_page, world):
    """A tampered answer is refused and, unlike a responder that is down, not remembered
    (tests/jpki/test_ocsp_resilience.py): the next try is approved."""
    page = consent_page(acr_values=ACR_SIGN_IDENTITY)
    with world.server.misbehaving(ocsp="wrong_key"):
        assert page.identify(world, world.good, ["openid"]).status_code == 503
    assert consents(card_app) == []
    assert page.identify(world, world.good, ["openid"]).status_code == 302


# --- verified identity: the signing certificate ---------------------------------------------


IDENTITY_CLAIMS = claims_param(
    id_token=verified({"family_name": None, "given_name": None, "birthdate": None, "gender": None})
)


def test_verified_identity_is_approved_with_the_signing_certificate(card_app, rp, consent_page,
                                                                     world):  # fmt: skip
    from joserfc import jwt
    from joserfc.jwk import KeySet

    page = consent_page(claims=IDENTITY_CLAIMS)
    assert set(page.optional()) == {"verified:name", "verified:birthdate", "verified:gender"}
    items = ["openid", "verified:name", "verified:birthdate"]  # gender unticked
    issued = page.challenge(items)
    assert issued.json["key"] == "sign"
    signer = signing_card(world, world.good)
    response = page.approve(identity_result(world, world.good, issued.json["challenge"]), items)
    token = token_for(rp, response)
    keys = KeySet.import_key_set(rp.http.get("/jwks").json)
    claims = jwt.decode(token["id_token"], keys).claims
    released = claims["verified_claims"]["claims"]
    assert released["birthdate"] == "1985-04-12"  # the sandbox citizen's, read from the card
    assert "gender" not in released  # unticked: not released
    [consent] = consents(card_app)
    assert consent.auth_method == "card-sign"
    assert consent.granted() == sorted(items)
    evidence = json.loads(consent.evidence)
    assert evidence["key"] == "sign"
    assert evidence["serial"] == f"{signer.certificate.serial_number:X}"
    assert evidence["authentication_serial"] == f"{world.good.certificate.serial_number:X}"


def test_the_authentication_key_cannot_approve_verified_identity(card_app, consent_page, world):
    """A one-key answer is the old protocol: the bridge must be updated (nothing released)."""
    page = consent_page(claims=IDENTITY_CLAIMS)
    issued = page.challenge().json["challenge"]
    refused = page.approve(card_result(world.good.certificate, world.good.key, issued, "login"))
    assert refused.status_code == 400
    assert 'data-reason="bridge_outdated"' in refused.get_data(as_text=True)
    assert consents(card_app) == []


def test_a_signing_certificate_answer_to_a_step_up_is_refused(card_app, consent_page, world):
    page = consent_page(scope=SELFINFO)
    issued = page.challenge().json["challenge"]
    signer = signing_card(world, world.good)
    refused = page.approve(card_result(signer.certificate, signer.key, issued, "identity"))
    assert refused.status_code == 403
    assert consents(card_app) == []


def test_identity_required_by_acr_uses_the_signing_key_even_for_the_identifier(
    card_app, rp, consent_page, world
):
    page = consent_page(acr_values=ACR_SIGN_IDENTITY)
    assert page.decide("approve").status_code == 400  # no plain approval
    issued = page.challenge(["openid"])
    assert issued.json["key"] == "sign"
    response = page.approve(
        identity_result(world, world.good, issued.json["challenge"]), ["openid"]
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "code" in query(response.headers["Location"])
    assert consents(card_app)[0].auth_method == "card-sign"
