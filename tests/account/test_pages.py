"""The account overview: only this account's consents and history, newest first, in pages, in
Japan time, in Japanese or English, behind the card login and never cached."""

from __future__ import annotations

import datetime as dt
import re

from idp.account.records import PAGE_SIZE
from tests.account.conftest import add_consent, add_record, make_account, open_account, sign_in
from tests.cardless import DEFAULT_ACCOUNT

ROW = re.compile(r'<tr data-record="(\d+)">')
NEW_YEAR = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
"""2026-01-01 00:00 UTC, 09:00 in Japan."""


def test_without_a_session_the_page_starts_the_login_and_comes_back(provider):
    http = provider.test_client()
    response = http.get("/account")
    assert response.status_code == 303  # the test authenticator logs in at once
    assert response.headers["Location"] == "/account"
    page = http.get("/account", query_string={"lang": "en"})
    assert page.status_code == 200
    assert "Your account" in page.get_data(as_text=True)


def test_the_page_is_never_cached_and_has_the_strict_headers(provider):
    http = provider.test_client()
    sign_in(provider, http, make_account(provider))
    response = open_account(http)
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_history_shows_this_accounts_records_only(provider):
    mine, theirs = make_account(provider), make_account(provider)
    add_record(provider, mine, NEW_YEAR, client_name="My Bank")
    add_record(provider, theirs, NEW_YEAR, client_name="Their Insurer")
    add_consent(provider, theirs, client_name="Their Pension Fund")
    http = provider.test_client()
    sign_in(provider, http, mine)
    html = open_account(http).get_data(as_text=True)
    assert "My Bank" in html
    assert "Their Insurer" not in html
    assert "Their Pension Fund" not in html
    assert theirs not in html
    assert mine not in html  # the internal account id is never shown either


def test_the_history_is_newest_first_fifty_a_page(provider):
    account = make_account(provider)
    total = 2 * PAGE_SIZE + 7
    for n in range(total):
        add_record(provider, account, NEW_YEAR + n * 60, client_name=f"Service {n}")
    http = provider.test_client()
    sign_in(provider, http, account)
    first = open_account(http).get_data(as_text=True)
    assert len(ROW.findall(first)) == PAGE_SIZE
    assert first.index(f"Service {total - 1}<") < first.index(f"Service {total - 2}<")
    assert "Page 1 of 3" in first
    assert 'id="older"' in first
    assert 'id="newer"' not in first
    last = http.get("/account?page=3&lang=en").get_data(as_text=True)
    assert len(ROW.findall(last)) == 7
    assert "Service 0<" in last
    assert 'id="older"' not in last
    beyond = http.get("/account?page=99&lang=en").get_data(as_text=True)
    assert "Page 3 of 3" in beyond
    for nonsense in ("-1x", "²", "9" * 40, ""):
        answer = http.get("/account", query_string={"page": nonsense, "lang": "en"})
        assert "Page 1 of 3" in answer.get_data(as_text=True), nonsense


def test_times_are_japan_time_in_the_pages_language(provider):
    account = make_account(provider)
    add_record(provider, account, NEW_YEAR, client_name="My Bank")
    http = provider.test_client()
    sign_in(provider, http, account)
    english = open_account(http, "en").get_data(as_text=True)
    assert "January 1, 2026 9:00" in english
    assert 'datetime="2026-01-01T09:00:00+09:00"' in english
    japanese = open_account(http, "ja").get_data(as_text=True)
    assert "2026年1月1日 9:00" in japanese
    assert '<html lang="ja">' in japanese
    assert "アカウント" in japanese


def test_items_are_in_plain_words_with_the_consent_they_came_under(provider):
    account = make_account(provider)
    consent = add_consent(provider, account, client_name="My Bank", created_at=NEW_YEAR)
    add_record(provider, account, NEW_YEAR + 3600, client_name="My Bank", consent_id=consent)
    http = provider.test_client()
    sign_in(provider, http, account)
    html = open_account(http).get_data(as_text=True)
    assert "resident-tax income" in html  # selfinfo:income, described
    assert "selfinfo:income" not in html
    assert "Your full name" in html  # claim:name of the consent
    assert "Self-information read" in html
    assert "January 1, 2026 9:00" in html  # the consent's date, beside the record


def test_only_live_consents_are_offered_for_revoking(provider):
    account = make_account(provider)
    live = add_consent(provider, account, client_name="Live Bank", auth_method="card-step-up")
    ended = add_consent(provider, account, client_name="Ended Bank", revoked_at=NEW_YEAR)
    expired = add_consent(provider, account, client_name="Old Bank", expires_at=NEW_YEAR)
    http = provider.test_client()
    sign_in(provider, http, account)
    html = open_account(http).get_data(as_text=True)
    assert f'id="consent-{live}"' in html
    assert "With your card" in html
    assert "30 days" in html
    assert "Opening an account" in html
    assert f'id="consent-{ended}"' not in html
    assert f'id="consent-{expired}"' not in html


def test_with_no_consents_and_no_history_the_page_says_so(provider):
    http = provider.test_client()
    sign_in(provider, http, make_account(provider))
    html = open_account(http).get_data(as_text=True)
    assert 'id="no-consents"' in html
    assert 'id="no-history"' in html


def test_a_service_login_shows_up_in_the_history(provider, make_service):
    service = make_service("Sample Bank")
    service.rp.tokens(login_hint=DEFAULT_ACCOUNT)
    html = open_account(service.http).get_data(as_text=True)
    assert "Sample Bank" in html
    assert "When you logged in" in html
    assert "<dd>At login</dd>" in html  # a login-only consent, approved in the session


def test_a_signed_documents_row_shows_its_title_in_the_pages_language(provider):
    account = make_account(provider)
    titles = '{"ja": "住宅ローン契約書 第1号", "en": "Mortgage agreement No. 1"}'
    add_record(provider, account, NEW_YEAR, kind="document_signature",
               item="document:住宅ローン契約書 / Mortgage", titles=titles)  # fmt: skip
    http = provider.test_client()
    sign_in(provider, http, account)
    english = open_account(http, "en").get_data(as_text=True)
    assert "Mortgage agreement No. 1" in english
    assert "住宅ローン契約書" not in english
    japanese = open_account(http, "ja").get_data(as_text=True)
    assert "住宅ローン契約書 第1号" in japanese
    assert "Mortgage" not in japanese
