"""A login or consent that is no longer valid is not a dead end: its page leads back to the
service this browser came from (the origin of its registered redirect URI), in the page's
language; another browser, which came from no service, gets no link."""

from __future__ import annotations

import re

LINK = re.compile(r'<a href="([^"]+)" class="button" id="return-to-service">([^<]+)</a>')


def test_a_login_no_longer_valid_leads_back_to_the_service(card_app, login_page):
    page = login_page()
    page.http.post(page.path + "/cancel", data={"csrf_token": page.csrf})
    gone = page.http.get(page.path).get_data(as_text=True)
    assert 'data-reason="transaction_gone"' in gone
    link = LINK.search(gone)
    assert link is not None, gone
    assert link.groups() == ("https://rp.example/", "Sample Bank に戻る")
    stranger = card_app.test_client().get(page.path).get_data(as_text=True)
    assert 'data-reason="transaction_gone"' in stranger
    assert LINK.search(stranger) is None  # this browser came from no service


def test_a_consent_no_longer_valid_leads_back_to_the_service(login_page):
    page = login_page()
    gone = page.http.get("/consent/" + "A" * 43 + "?lang=en").get_data(as_text=True)
    assert 'data-reason="consent_gone"' in gone
    link = LINK.search(gone)
    assert link is not None, gone
    assert link.groups() == ("https://rp.example/", "Back to Sample Bank")
