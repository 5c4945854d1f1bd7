"""The bank's whole story against a live IdP: apply, verified claims, income, contract, logout."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.relying_party.conftest import apply, csrf, fetch_income, session_data, sign


def test_apply_logs_in_with_par_dpop_and_shows_the_verified_applicant(browser, bank, idp):
    page = apply(browser, bank)
    assert page.status_code == 200, page.text
    assert page.url == bank.url + "/application"
    assert 'id="applicant-name">テスト　太郎<' in page.text
    assert "東京都千代田区霞が関二丁目一番二号" in page.text
    assert 'id="trust-framework">犯罪収益移転防止法に基づく本人確認<' in page.text
    assert 'id="applicant-birthdate">1980年4月1日<' in page.text
    verified_at = session_data(bank, browser)["login"]["claims"]["verified_claims"]
    assert f'id="verified-at">{_japan(verified_at["verification"]["time"])}<' in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    # The login went through PAR: the first hop to the IdP named only a request_uri.
    to_idp = [r for r in page.history if r.headers.get("Location", "").startswith(idp.url)]
    assert "request_uri=urn" in to_idp[0].headers["Location"]
    assert "code_challenge" not in to_idp[0].headers["Location"]

    received = browser.get(bank.url + "/received")
    id_token = json.loads(_pre(received.text, "received-id_token"))
    assert id_token["acr"] == "urn:jpki-idp:acr:sign-cert-identity"
    assert id_token["aud"] in (bank.client_id, [bank.client_id])
    token = json.loads(_pre(received.text, "received-token"))
    assert token["token_type"] == "DPoP"  # noqa: S105 (a token type, not a secret)
    assert set(token["scope"].split()) == {"openid", "selfinfo:income", "selfinfo:household"}


def test_income_and_household_are_read_and_give_an_affordability_figure(browser, bank):
    page = fetch_income(browser, bank, apply(browser, bank))
    assert page.status_code == 200, page.text
    assert 'id="income-total">6,000,000円<' in page.text
    assert 'id="household-size">2<' in page.text
    # 6,000,000 × 33% / 12 = 165,000 a month; at 3% over 35 years: 42.8 million, rounded down.
    assert "最大42,800,000円" in page.text
    received = browser.get(bank.url + "/received").text
    assert "selfinfo:income" in received
    assert "東京都清瀬市" in received


def test_the_contract_is_signed_at_the_idp_and_verified_by_the_bank(browser, bank, idp, world):
    page = fetch_income(browser, bank, apply(browser, bank))
    review = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    assert review.status_code == 200, review.text
    assert "住宅ローン契約書" in review.text  # the IdP's review page shows the bank's title
    done = sign(browser, idp, world.card, review)
    assert done.status_code == 200, done.text
    assert done.url == bank.url + "/contract"
    assert 'id="contract-signed"' in done.text
    assert 'id="signer">山田\u3000花子<' in done.text  # the card's name, not its subject DN
    assert world.card.certificate.subject.rfc4514_string() not in html_lib.unescape(done.text)
    pdf = browser.get(bank.url + "/contract/signed.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert b"/ByteRange" in pdf.content


def test_a_declined_contract_ends_on_the_friendly_page(browser, bank, idp):
    page = fetch_income(browser, bank, apply(browser, bank))
    review = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    base = review.url.removesuffix("/review")
    declined = browser.post(base + "/decline", data={"csrf_token": csrf(review.text)})
    assert declined.status_code == 403
    assert 'data-reason="signing_declined"' in declined.text
    assert declined.url.startswith(bank.url + "/contract/signed?")
    assert idp.url not in declined.url


def _documents_of(idp, bank) -> int:
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    with idp.app.app_context():
        query = db.select(DocumentRequest).where(DocumentRequest.client_id == bank.client_id)
        return len(db.session.execute(query).scalars().all())


def _sign_once(browser, bank, idp, world):
    page = fetch_income(browser, bank, apply(browser, bank))
    review = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    done = sign(browser, idp, world.card, review)
    assert done.url == bank.url + "/contract", done.text
    return done


def test_once_signed_no_second_signature_is_offered_or_prepared(browser, bank, idp, world):
    done = _sign_once(browser, bank, idp, world)
    reference = session_data(bank, browser)["signed_contracts"][0]["terms"]["reference"]
    page = browser.get(bank.url + "/application")
    assert 'id="sign-button"' not in page.text
    assert 'id="signed-contract-link"' in page.text
    assert reference in page.text
    before = _documents_of(idp, bank)
    again = browser.post(bank.url + "/contract", data={"csrf_token": csrf(done.text)})
    assert again.url == bank.url + "/contract"  # the signed one, not the IdP's review page
    assert 'id="contract-signed"' in again.text
    assert reference in again.text
    assert _documents_of(idp, bank) == before  # nothing new sent to the IdP to sign


def test_a_second_review_page_declined_does_not_hide_the_signed_contract(browser, bank, idp, world):
    """Two review pages open (two tabs): one signed, the other declined afterwards. The bank
    still shows the signed contract and serves its PDF, and never says nothing was signed."""
    page = fetch_income(browser, bank, apply(browser, bank))
    first = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    second = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    assert first.url != second.url  # two documents at the IdP
    assert sign(browser, idp, world.card, first).url == bank.url + "/contract"
    base = second.url.removesuffix("/review")
    declined = browser.post(base + "/decline", data={"csrf_token": csrf(second.text)})
    assert declined.status_code == 200, declined.text
    assert declined.url == bank.url + "/contract"
    assert 'id="contract-signed"' in declined.text
    shown = browser.get(bank.url + "/contract")
    assert 'id="contract-signed"' in shown.text
    assert 'id="sign-button"' not in browser.get(bank.url + "/application").text
    pdf = browser.get(bank.url + "/contract/signed.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert b"/ByteRange" in pdf.content


def test_a_review_page_opened_earlier_still_signs_its_own_document(browser, bank, idp, world):
    """The older of two review pages is the one signed: its return is not refused as a stale
    request, and the bank verifies and keeps that document."""
    page = fetch_income(browser, bank, apply(browser, bank))
    first = browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    browser.post(bank.url + "/contract", data={"csrf_token": csrf(page.text)})
    done = sign(browser, idp, world.card, first)
    assert done.url == bank.url + "/contract", done.text
    signed = session_data(bank, browser)["signed_contracts"]
    assert [c["document_id"] for c in signed] == [first.url.split("/")[-2]]


def test_the_signed_contract_reads_in_words_japan_time_and_exact_rates(browser, bank, idp, world):
    done = _sign_once(browser, bank, idp, world)
    signed = session_data(bank, browser)["signed_contracts"][0]
    assert f'id="signed-at">{_japan(signed["signed_at"])}<' in done.text
    assert 'id="rate">年1.80%（固定金利）<' in done.text
    assert "公的個人認証サービスの署名用電子証明書（テスト用の認証局が発行）" in done.text
    assert "UTC" not in done.text
    assert "O=JPKI-TEST" not in done.text
    english = browser.get(bank.url + "/contract", params={"lang": "en"})
    moment = dt.datetime.fromtimestamp(signed["signed_at"], JAPAN)
    assert f"{moment.day} {moment:%B %Y, %H:%M} (Japan time)" in english.text
    assert "1.80% a year, fixed" in english.text
    stored = json.loads(_pre(browser.get(bank.url + "/received").text, "received-contract"))
    assert stored[0]["terms"]["rate_percent"] == "1.80"  # not 1.7999999999999998


JAPAN = dt.timezone(dt.timedelta(hours=9))


def _japan(value: int | str) -> str:
    """The bank's words for a time: the date and time of day in Japan (UTC+9)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    moment = dt.datetime.fromtimestamp(value, JAPAN)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}（日本時間）"


def test_logout_ends_the_bank_session_and_the_idp_session(browser, bank, idp):
    page = apply(browser, bank)
    out = browser.post(bank.url + "/logout", data={"csrf_token": csrf(page.text)})
    assert out.status_code == 200, out.text
    assert out.url.startswith(bank.url + "/logged-out?state=")
    assert any(r.url.startswith(idp.url + "/logout") for r in out.history)
    gone = browser.get(bank.url + "/application")
    assert gone.status_code == 401
    assert 'data-reason="session_ended"' in gone.text


def test_the_id_token_is_signed_by_the_idp(bank, idp, browser):
    """The bank's check is real: the ID token verifies with the IdP's published keys."""
    apply(browser, bank)
    login = session_data(bank, browser)["login"]
    keys = KeySet.import_key_set(browser.get(idp.url + "/jwks").json())
    assert jwt.decode(login["id_token"], keys).claims["sub"] == login["claims"]["sub"]


def _pre(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    body = html[html.index(">", start) + 1 : html.index("</pre>", start)]
    return html_lib.unescape(body)


def test_the_bank_is_registered_as_the_profile_requires(bank, idp):
    """What ``register`` asked of ``idp client add``: PAR and DPoP enforced, private_key_jwt,
    back-channel logout, jp_aml with the purpose the consent screen shows."""
    from idp.oidc.clients import find_client

    with idp.app.app_context():
        client = find_client(bank.client_id)
        described = client.describe()
        assert client.require_par
        assert client.require_dpop
    assert described["token_endpoint_auth_method"] == "private_key_jwt"  # noqa: S105
    assert described["backchannel_logout_uri"] == bank.url + "/backchannel-logout"
    assert described["trust_framework"] == "jp_aml"
    assert described["purpose"] == "住宅ローンの審査 / mortgage screening"
    assert bank.url + "/callback" in described["redirect_uris"]
    assert all("d" not in key for key in described["jwks"]["keys"])  # public keys only
