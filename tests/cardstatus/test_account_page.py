"""The account page says what happened to the card and what it means, in Japanese and English."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from idp.jpki.settings import CertificateType
from idp.jpki.status import Status
from idp.oidc.authenticator import AUTHENTICATOR
from idp.services import services
from idp.storage.card_status import CardStatusEvent
from idp.storage.db import db
from tests.cardstatus.conftest import deliver

AUTH, SIGN = CertificateType.AUTH, CertificateType.SIGN
CASES = [
    (AUTH, Status.REVOKED, "keyCompromise", "紛失・盗難の届出", "Reported lost or stolen"),
    (AUTH, Status.ON_HOLD, "certificateHold", "カードが一時停止されました",
     "Your card was suspended"),
    (AUTH, Status.REVOKED, "superseded", "利用者証明用電子証明書が更新され", "was renewed"),
    (AUTH, Status.REVOKED, "cessationOfOperation", "利用者証明用電子証明書が失効しました",
     "Your certificate for logging in was revoked"),
    (SIGN, Status.REVOKED, "affiliationChanged", "カードの記載事項（氏名・住所など）が変わった",
     "The facts on your card (name, address and so on) changed"),
]  # fmt: skip


def _back_in_time(app, seconds: int = 5) -> None:
    """What was recorded is seconds old: the page's login comes clearly after it."""
    with app.app_context():
        db.session.execute(
            update(CardStatusEvent).values(recorded_at=CardStatusEvent.recorded_at - seconds)
        )
        db.session.commit()


def _page(app, card, language: str) -> str:
    """The account page, after the card login it asks for."""
    services(app)[AUTHENTICATOR].account_id = card.account_id
    http = app.test_client()
    response = http.get(f"/account?lang={language}", follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.request.path == "/account"
    return response.get_data(as_text=True)


def test_nothing_happened_yet(app, card):
    page = _page(app, card, "ja")
    assert "カードの状態" in page
    assert 'id="no-card-events"' in page
    assert "data-card-notice" not in page


@pytest.mark.parametrize(("kind", "status", "reason", "japanese", "english"), CASES)
def test_each_change_is_told_in_both_languages(app, card, kind, status, reason, japanese, english):
    deliver(app, card.change(status, reason, kind=kind))
    _back_in_time(app)
    ja, en = _page(app, card, "ja"), _page(app, card, "en")
    assert ja.count("data-card-event") == en.count("data-card-event") == 1
    assert japanese in ja
    assert english in en
    assert "Your card's status" in en


def test_a_hold_then_its_release_the_page_says_both_and_no_longer_suspended(app, card):
    held = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=60)
    deliver(app, card.change(Status.ON_HOLD, "certificateHold", at=held))
    _back_in_time(app)
    page = _page(app, card, "ja")  # a login the CA let in while the IdP still had the hold
    assert "このカードは一時停止中です" in page
    deliver(app, card.change(Status.RELEASED, "removeFromCRL"))
    _back_in_time(app)
    page = _page(app, card, "ja")
    assert page.count("data-card-event") == 2
    assert "一時停止の解除" in page
    assert page.index("一時停止の解除") < page.index("カードが一時停止されました")  # newest first
    assert "このカードは一時停止中です" not in page
    assert "Suspension lifted" in _page(app, card, "en")


def test_a_revoked_signing_certificate_in_use_is_a_notice(app, card):
    deliver(app, card.change(Status.REVOKED, "affiliationChanged", kind=SIGN))
    _back_in_time(app)
    assert "署名用電子証明書は失効しています" in _page(app, card, "ja")
    assert "signing certificate is no longer valid" in _page(app, card, "en")


def test_another_accounts_changes_are_not_shown(app, card):
    from tests.cardstatus.conftest import make_card

    other = make_card(app)
    deliver(app, other.change(Status.REVOKED, "keyCompromise"))
    assert 'id="no-card-events"' in _page(app, card, "ja")
