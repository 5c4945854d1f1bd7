"""Verified identity needs the signing key of the card that logged in (bridge-protocol.md §9).

Logged in with card A, the identity step must not accept card B's signing certificate: the
answer is one bridge operation in which the card signs the step's challenge with both its
authentication key (whose certificate must be the account's own) and its signing key. A one-key
answer is the old protocol (``bridge_outdated``). Every refusal releases nothing, stores
nothing and uses up the challenge. The account records each signing certificate so proven, and
its page shows a change.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.consent.conftest import card_result, identity_result, open_consent, signing_card
from tests.consent.test_card_step import IDENTITY_CLAIMS
from tests.consent.test_decisions import consents, token_for

ITEMS = ["openid", "verified:name", "verified:birthdate"]


def _stored(app) -> tuple[int, list[tuple[str, str | None]]]:
    """(identity verifications, [(serial, replaced_at is None)…]) of every account."""
    from idp.storage.db import db
    from idp.storage.signing_certificates import SigningCertificateRecord
    from idp.storage.verifications import IdentityVerification

    with app.app_context():
        verifications = len(db.session.execute(select(IdentityVerification)).scalars().all())
        records = db.session.execute(
            select(SigningCertificateRecord).order_by(SigningCertificateRecord.id)
        ).scalars()
        return verifications, [(r.serial, r.replaced_at is None) for r in records]


def _refused_and_nothing_released(app, response, status: int, reason: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert f'data-reason="{reason}"' in response.get_data(as_text=True)
    assert "Location" not in response.headers  # no code, no verified claims for the service
    assert consents(app) == []
    assert _stored(app) == (0, [])


def test_card_b_signing_certificate_is_refused_for_card_a(card_app, rp, consent_page, logged_in,
                                                           world):  # fmt: skip
    """Card B answers with both of its keys: B's authentication certificate is not A's."""
    rp.http = card_app.test_client()
    logged_in(world.other)  # B has an account of its own
    rp.http = card_app.test_client()
    page = consent_page(claims=IDENTITY_CLAIMS)  # logged in with A (world.good)
    issued = page.challenge(ITEMS).json["challenge"]
    refused = page.approve(identity_result(world, world.other, issued), ITEMS)
    _refused_and_nothing_released(card_app, refused, 403, "another_card")
    assert "ログインに使ったカードではありません" in refused.get_data(as_text=True)
    # the challenge is used up: not even A's own answer to it is accepted now
    late = page.approve(identity_result(world, world.good, issued), ITEMS)
    _refused_and_nothing_released(card_app, late, 400, "no_card_step")


def test_a_one_key_answer_with_card_b_signing_certificate_must_update_the_bridge(
    card_app, consent_page, world
):
    """What was accepted before: B's signing certificate alone, under A's login."""
    page = consent_page(claims=IDENTITY_CLAIMS)
    issued = page.challenge(ITEMS).json["challenge"]
    signer = signing_card(world, world.other)
    refused = page.approve(card_result(signer.certificate, signer.key, issued, "identity"), ITEMS)
    _refused_and_nothing_released(card_app, refused, 400, "bridge_outdated")
    english = page.http.get(f"{page.path}/refused/bridge_outdated/sign?lang=en")
    assert "Your card bridge needs an update" in english.get_data(as_text=True)
    assert "カードブリッジの更新が必要です" in refused.get_data(as_text=True)
    late = page.approve(identity_result(world, world.good, issued), ITEMS)
    _refused_and_nothing_released(card_app, late, 400, "no_card_step")


def test_a_pair_of_a_authentication_and_b_signing_halves_from_two_answers_is_refused(
    card_app, consent_page, world
):
    """A's authentication signature taken from an earlier step, B's signing signature for this
    one: the halves signed different challenges."""
    page = consent_page(claims=IDENTITY_CLAIMS)
    earlier = page.challenge(ITEMS).json["challenge"]
    issued = page.challenge(ITEMS).json["challenge"]  # replaces the earlier one
    mixed = identity_result(world, world.good, issued, signing_card(world, world.other),
                            auth_challenge=earlier)  # fmt: skip
    refused = page.approve(mixed, ITEMS)
    _refused_and_nothing_released(card_app, refused, 403, "generic")


def test_a_replayed_pair_is_refused(card_app, rp, consent_page, world):
    page = consent_page(claims=IDENTITY_CLAIMS)
    issued = page.challenge(ITEMS).json["challenge"]
    answer = identity_result(world, world.good, issued)
    token_for(rp, page.approve(answer, ITEMS))
    second = open_consent(rp.http, rp.authorize(claims=IDENTITY_CLAIMS))  # the same session
    second.challenge(ITEMS)
    replayed = second.approve(answer, ITEMS)  # signed the first approval's challenge
    assert replayed.status_code == 403
    assert 'data-reason="generic"' in replayed.get_data(as_text=True)
    assert len(consents(card_app)) == 1
    assert len(_stored(card_app)[1]) == 1


def test_the_same_card_with_both_keys_is_accepted_and_its_certificate_recorded(
    card_app, rp, consent_page, world
):
    page = consent_page(claims=IDENTITY_CLAIMS)
    token = token_for(rp, page.identify(world, world.good, ITEMS))
    assert "access_token" in token
    signer = signing_card(world, world.good)
    serial = f"{signer.certificate.serial_number:X}"
    assert _stored(card_app) == (1, [(serial, True)])
    evidence = json.loads(consents(card_app)[0].evidence)
    assert evidence["authentication_serial"] == f"{world.good.certificate.serial_number:X}"
    assert evidence["serial"] == serial
    overview = page.http.get("/account?lang=en").get_data(as_text=True)
    assert "Your signing certificates" in overview
    assert f'data-signing-serial="{serial}"' in overview
    assert "In use" in overview


def test_a_different_signing_certificate_later_needs_the_double_proof_and_shows_in_history(
    card_app, rp, consent_page, world
):
    """A new signing certificate beside the account's own authentication key (a re-issued one
    after a move, say) is accepted only with the double proof, and the account page shows the
    change. (The IdP cannot tell it from another person's card signing alongside in real time:
    the residual risk docs/bridge-protocol.md §9 describes; the record makes it visible.)"""
    first = consent_page(claims=IDENTITY_CLAIMS)
    token_for(rp, first.identify(world, world.good, ITEMS))
    later = open_consent(rp.http, rp.authorize(claims=IDENTITY_CLAIMS))  # the same session
    issued = later.challenge(ITEMS).json["challenge"]
    new = signing_card(world, world.other)
    one_key = card_result(new.certificate, new.key, issued, "identity")
    assert later.approve(one_key, ITEMS).status_code == 400  # bridge_outdated
    later = open_consent(rp.http, rp.authorize(claims=IDENTITY_CLAIMS))
    token_for(rp, later.identify(world, world.good, ITEMS, signer=new))
    old_serial = f"{signing_card(world, world.good).certificate.serial_number:X}"
    new_serial = f"{new.certificate.serial_number:X}"
    assert _stored(card_app) == (2, [(old_serial, False), (new_serial, True)])
    english = later.http.get("/account?lang=en").get_data(as_text=True)
    assert english.index(new_serial) < english.index(old_serial)  # newest first
    assert "Replaced by another certificate on" in english
    japanese = later.http.get("/account?lang=ja").get_data(as_text=True)
    assert "署名用電子証明書の記録" in japanese
    assert "に別の電子証明書に替わりました" in japanese
