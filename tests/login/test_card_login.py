"""The card login through the Flask test client: a good card logs in and the relying party gets
a code; every refusal shows its own page and logs no one in; bad input changes nothing."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.login.verification import CARD_VERIFIER
from idp.oidc.authenticator import ACR_CARD_AUTH
from idp.services import services
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.db import db
from idp.storage.ephemeral import EPHEMERAL
from tests.login.cards import ORIGIN, bridge_result
from tests.login.conftest import logged_in, through_consent
from tests.oidc.rp import query


def _claims(app, rp, code: str) -> dict:
    response = rp.token(code)
    assert response.status_code == 200, response.get_data(as_text=True)
    keys = KeySet.import_key_set(app.test_client().get("/jwks").json)
    return jwt.decode(response.json["id_token"], keys).claims


def _bindings(app) -> list[CertificateBinding]:
    with app.app_context():
        return list(db.session.execute(select(CertificateBinding)).scalars())


def _login(page, card) -> object:
    return page.post(bridge_result(card.certificate, card.key, page.challenge()))


def test_a_good_card_logs_in_and_the_relying_party_gets_a_code(card_app, rp, login_page, world):
    page = login_page(state="s1", nonce="n1")
    response = through_consent(page.http, _login(page, world.good))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    params = query(response.headers["Location"])
    assert params["state"] == "s1"
    claims = _claims(card_app, rp, params["code"])
    assert claims["acr"] == ACR_CARD_AUTH
    assert set(claims["amr"]) >= {"hwk", "pin", "sc"}
    assert claims["nonce"] == "n1"


def test_the_account_keeps_issuer_hash_and_serial_never_the_certificate(
    card_app, login_page, world
):
    _login(login_page(), world.good)
    [binding] = _bindings(card_app)
    assert binding.serial == f"{world.good.certificate.serial_number:X}"
    assert len(binding.issuer_hash) == 64
    with card_app.app_context():
        columns = [c.name for t in (Account, CertificateBinding) for c in t.__table__.columns]
    assert not any("cert" in name and name != "certificate_binding" for name in columns)


def _subject(app, rp, page, card) -> str:
    response = _login(page, card)
    if logged_in(response):  # else a remembered consent answered the relying party at once
        response = through_consent(page.http, response)
    return _claims(app, rp, query(response.headers["Location"])["code"])["sub"]


def test_the_same_card_returns_to_the_same_account_and_subject(card_app, rp, login_page, world):
    first = _subject(card_app, rp, login_page(), world.good)
    rp.http = card_app.test_client()  # a new browser: no IdP session to reuse
    second = _subject(card_app, rp, login_page(), world.good)
    assert first == second
    assert len(_bindings(card_app)) == 1


def test_another_card_is_another_account(card_app, rp, login_page, world):
    first = _subject(card_app, rp, login_page(), world.good)
    rp.http = card_app.test_client()
    second = _subject(card_app, rp, login_page(), world.other)
    assert first != second
    assert len(_bindings(card_app)) == 2


@pytest.mark.parametrize(
    ("card", "reason", "advice"),
    [
        ("revoked", "revoked", "市区町村の窓口"),
        ("on_hold", "on_hold", "一時停止"),
        ("expired", "expired", "更新"),
    ],
)
def test_each_refused_card_gets_its_page_and_no_login(card_app, login_page, world, card, reason,
                                                      advice):  # fmt: skip
    response = _login(login_page(), getattr(world, card))
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert f'data-reason="{reason}"' in html
    assert advice in html
    assert "code=" not in response.headers.get("Location", "")
    assert _bindings(card_app) == []


def test_responder_down_is_service_unavailable_and_nothing_is_shared(card_app, login_page, world):
    page = login_page()
    with world.server.misbehaving(ocsp="down"):
        response = _login(page, world.good)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert 'data-reason="unavailable"' in html
    assert "何も提供されていません" in html
    assert 'id="try-again"' in html
    assert _bindings(card_app) == []


def test_after_a_refusal_the_person_can_try_again_and_log_in(card_app, login_page, world):
    """A tampered answer (503) is not remembered as a failure; a responder that is down is, for
    ocsp_failure_ttl (tests/jpki/test_ocsp_resilience.py)."""
    page = login_page()
    with world.server.misbehaving(ocsp="wrong_key"):
        assert _login(page, world.good).status_code == 503
    assert logged_in(_login(page, world.good))


def test_a_replayed_result_is_refused(card_app, rp, login_page, world):
    page = login_page()
    result = bridge_result(world.good.certificate, world.good.key, page.challenge())
    assert logged_in(page.post(result))
    again = login_page(prompt="login")
    again.challenge()  # the new transaction has a challenge of its own
    response = again.post(result)
    assert response.status_code == 403
    assert 'data-reason="generic"' in response.get_data(as_text=True)


def test_a_result_posted_twice_to_its_own_login_does_not_log_in_twice(card_app, login_page, world):
    page = login_page()
    result = bridge_result(world.good.certificate, world.good.key, page.challenge())
    assert logged_in(page.post(result))
    second = page.post(result)
    assert second.status_code == 400
    assert 'data-reason="transaction_gone"' in second.get_data(as_text=True)


def test_a_result_signed_for_another_origin_is_refused(card_app, login_page, world):
    page = login_page()
    phish = "https://idp.example.phish"
    result = bridge_result(world.good.certificate, world.good.key, page.challenge(), origin=phish)
    response = page.post(result)
    assert response.status_code == 403
    assert 'data-reason="generic"' in response.get_data(as_text=True)
    assert _bindings(card_app) == []


def test_a_signature_over_another_origin_with_our_origin_echoed_is_refused(card_app, login_page,
                                                                         world):  # fmt: skip
    page = login_page()
    result = bridge_result(
        world.good.certificate, world.good.key, page.challenge(),
        origin=ORIGIN, signed_origin="https://idp.example.phish",
    )  # fmt: skip
    assert page.post(result).status_code == 403
    assert _bindings(card_app) == []


def test_a_result_for_a_challenge_that_expired_is_the_timeout_page(card_app, login_page, world):
    page = login_page()
    challenge = page.challenge()
    with card_app.app_context():
        services(card_app)[CARD_VERIFIER].challenges.discard(page.path.split("/")[3])
    response = page.post(bridge_result(world.good.certificate, world.good.key, challenge))
    assert response.status_code == 403
    assert 'data-reason="timeout"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "result",
    [
        None,
        "",
        "not json",
        "[]",
        "{}",
        json.dumps({"version": 1}),
        "x" * 20000,
    ],
)
def test_missing_or_garbage_results_get_a_readable_page_and_no_login(card_app, login_page, result):
    response = login_page().post(result)
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert 'data-reason="generic"' in response.get_data(as_text=True)
    assert _bindings(card_app) == []


@pytest.mark.parametrize("field", ["certificate", "signature", "challenge", "version", "purpose"])
def test_a_bent_field_is_refused(card_app, login_page, world, field):
    page = login_page()
    body = json.loads(bridge_result(world.good.certificate, world.good.key, page.challenge()))
    body[field] = {"certificate": "AAAA", "signature": "!!", "challenge": "short",
                   "version": 2, "purpose": "identity"}[field]  # fmt: skip
    response = page.post(json.dumps(body))
    assert response.status_code == 403
    assert _bindings(card_app) == []


def test_a_certificate_of_another_card_than_the_signer_is_refused(card_app, login_page, world):
    page = login_page()
    result = bridge_result(world.other.certificate, world.good.key, page.challenge())
    assert page.post(result).status_code == 403
    assert _bindings(card_app) == []


@pytest.mark.parametrize("csrf", [None, "wrong-token"])
def test_a_post_without_the_csrf_token_changes_nothing(card_app, login_page, world, csrf):
    page = login_page()
    challenge = page.challenge()
    result = bridge_result(world.good.certificate, world.good.key, challenge)
    response = page.post(result, csrf=csrf)
    assert response.status_code == 400
    assert 'data-reason="bad_request"' in response.get_data(as_text=True)
    assert logged_in(page.post(result))  # the challenge was not used up


def test_a_refusal_page_leads_back_to_the_service(card_app, login_page, world):
    page = login_page(state="s9")
    refused = _login(page, world.revoked).get_data(as_text=True)
    assert 'id="back-to-service"' in refused
    assert "Sample Bank に戻る" in refused
    assert f'action="{page.path}/cancel"' in refused
    response = page.http.post(page.path + "/cancel", data={"csrf_token": page.csrf})
    assert response.status_code == 302
    params = query(response.headers["Location"])
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert params["error"] == "access_denied"
    assert params["state"] == "s9"
    assert "code" not in params
    gone = page.http.get(page.path)
    assert 'data-reason="transaction_gone"' in gone.get_data(as_text=True)
    assert _bindings(card_app) == []


@pytest.mark.parametrize("csrf", [None, "wrong-token"])
def test_going_back_needs_the_csrf_token_and_otherwise_changes_nothing(login_page, world, csrf):
    page = login_page()
    form = {} if csrf is None else {"csrf_token": csrf}
    refused = page.http.post(page.path + "/cancel", data=form)
    assert refused.status_code == 400
    assert 'data-reason="bad_request"' in refused.get_data(as_text=True)
    assert page.http.get(page.path).status_code == 200  # the login goes on
    assert logged_in(_login(page, world.good))


def test_going_back_from_another_browser_is_the_start_again_page(card_app, login_page):
    page = login_page()
    stranger = card_app.test_client()
    response = stranger.post(page.path + "/cancel", data={"csrf_token": page.csrf})
    assert response.status_code == 400
    assert 'data-reason="transaction_gone"' in response.get_data(as_text=True)
    assert page.http.get(page.path).status_code == 200


def test_a_challenge_needs_the_csrf_header(login_page):
    page = login_page()
    assert page.http.post(page.path + "/challenge").status_code == 403
    bad = page.http.post(page.path + "/challenge", headers={"X-CSRF-Token": "nope"})
    assert bad.status_code == 403


def test_the_login_page_of_another_browser_is_not_shown(card_app, login_page):
    page = login_page()
    stranger = card_app.test_client()
    response = stranger.get(page.path)
    assert response.status_code == 400
    assert 'data-reason="transaction_gone"' in response.get_data(as_text=True)
    challenge = stranger.post(page.path + "/challenge", headers={"X-CSRF-Token": page.csrf})
    assert challenge.status_code == 403


def test_an_unknown_transaction_gets_the_start_again_page(rp):
    response = rp.http.get("/login/card/" + base64.urlsafe_b64encode(b"x" * 32).decode())
    assert response.status_code == 400
    assert "最初からやり直してください" in response.get_data(as_text=True)


def test_a_locked_pin_reported_by_the_bridge_has_its_page(login_page):
    page = login_page()
    response = page.http.get(page.path + "/refused/pin_locked")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert 'data-reason="pin_locked"' in html
    assert "市区町村の窓口" in html
    unknown = page.http.get(page.path + "/refused/whatever")
    assert 'data-reason="generic"' in unknown.get_data(as_text=True)


def test_when_the_core_transaction_is_gone_the_card_is_not_asked(card_app, login_page, world):
    page = login_page()
    challenge = page.challenge()
    transaction = page.path.split("/")[3]
    services(card_app)[EPHEMERAL].delete("login:" + transaction)
    response = page.post(bridge_result(world.good.certificate, world.good.key, challenge))
    assert response.status_code == 400
    assert 'data-reason="transaction_gone"' in response.get_data(as_text=True)
    assert _bindings(card_app) == []


@pytest.mark.parametrize("purpose", [{}, [], ["login"], {"login": 1}, 1, None])
def test_a_member_of_another_type_is_refused_and_spends_the_challenge(
    card_app, login_page, world, purpose
):
    """``"purpose": {}`` raised TypeError (a 500) and left the challenge usable."""
    page = login_page()
    challenge = page.challenge()
    good = bridge_result(world.good.certificate, world.good.key, challenge)
    bent = {**json.loads(good), "purpose": purpose}
    response = page.post(json.dumps(bent))
    assert response.status_code == 403
    assert 'data-reason="generic"' in response.get_data(as_text=True)
    again = page.post(good)  # the same challenge, now signed properly: spent
    assert again.status_code == 403
    assert _bindings(card_app) == []


def test_the_page_can_ask_whether_its_login_is_still_going_on(card_app, login_page):
    """``/alive`` lets the page check its login before it starts the bridge with the challenge it
    came with: 204 while it goes on, 403 once it ended or for another browser; it changes
    nothing, so asking twice answers the same."""
    page = login_page()
    assert f'data-alive-url="{page.path}/alive"' in page.html
    for _ in range(2):
        alive = page.http.get(page.path + "/alive")
        assert alive.status_code == 204
        assert alive.headers["Cache-Control"] == "no-store"
    assert card_app.test_client().get(page.path + "/alive").status_code == 403  # another browser
    ended = page.http.post(page.path + "/cancel", data={"csrf_token": page.csrf})
    assert ended.status_code in (302, 303)
    gone = page.http.get(page.path + "/alive")
    assert gone.status_code == 403
    assert gone.json == {"error": "forbidden"}


@pytest.mark.parametrize(
    ("hint", "name"), [(None, "サンプル銀行"), ("en", "Sample Bank"), ("fr", "サンプル銀行")]
)
def test_the_service_is_named_in_the_pages_language_for_the_bridge_too(
    card_app, rp, login_page, hint, name
):
    """``client_name#ja``: the Japanese page (the default, or the language of the relying
    party's ``ui_locales`` hint) names the service with it, on the page, on its way back and in
    what the bridge window shows; the English page with the untagged name."""
    from idp.oidc.clients import register_client

    with card_app.app_context():
        client, secret = register_client(
            "Sample Bank", [rp.redirect_uri], "client_secret_basic",
            localized={"client_name#ja": "サンプル銀行"},
        )  # fmt: skip
        rp.client_id, rp.secret = client.client_id, secret
    page = login_page(**({"ui_locales": hint} if hint else {}))
    assert f'data-service="{name}"' in page.html
    assert 'id="back-to-service">' in page.html
    back = page.html.split('id="back-to-service">')[1].split("</button>")[0]
    assert name in back


def test_a_revocation_recorded_while_the_card_is_checked_ends_that_login(
    card_app, rp, login_page, world, monkeypatch
):
    """The card check reads a "good" answer cached just before the change; meanwhile the status
    watcher records the revocation and ends the account's logins; this login finishes a second
    later. Its code must not be redeemed (bench.revocation saw such a login keep working when
    its time was taken after the check)."""
    import time

    from idp.login.accounts import issuer_hash, serial_of
    from idp.storage.card_status import CardStatusEvent

    page = login_page()
    first = through_consent(page.http, _login(page, world.good))  # the account and its consent
    [binding] = _bindings(card_app)
    verifier = services(card_app)[CARD_VERIFIER]
    check = verifier.verify

    def check_then_learn(transaction, answer):
        validated = check(transaction, answer)
        now = int(time.time())
        db.session.add(
            CardStatusEvent(account_id=binding.account_id, kind="auth",
                            issuer_hash=issuer_hash(validated), serial=serial_of(validated),
                            status="revoked", reason="keyCompromise", changed_at=now,
                            source="feed", applied_at=now)
        )  # fmt: skip
        db.session.commit()
        time.sleep(1.1)
        return validated

    monkeypatch.setattr(verifier, "verify", check_then_learn)
    page = login_page(prompt="login")  # a new card login, not the session of the first
    response = _login(page, world.good)
    if response.status_code == 303:  # the consent screen again
        response = through_consent(page.http, response)
    assert response.status_code == 302, (first.status_code, response.get_data(as_text=True))
    refused = rp.token(query(response.headers["Location"])["code"])
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_grant"
