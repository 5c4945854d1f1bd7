"""How the account pages word things: Japan time in each language, items in the consent
screen's order, and a readable label for what the pages do not know yet."""

from __future__ import annotations

import pytest

from idp.account.presentation import approval, items, kind
from idp.web.formats import when

NEW_YEAR_EVE = 1_767_225_600 - 9 * 3600
"""2025-12-31 15:00 UTC: already 2026-01-01 00:00 in Japan."""


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ja", "2026年1月1日 0:00"), ("en", "January 1, 2026 12:00\u202fAM")],
)
def test_times_are_japan_time_whatever_the_servers_zone(provider, language, expected):
    with provider.test_request_context(f"/account?lang={language}"):
        assert when(NEW_YEAR_EVE) == expected


def test_items_come_identifier_first_then_claims_then_self_information(provider):
    with provider.test_request_context("/account?lang=en"):
        labels = items("selfinfo:income claim:name openid")
    assert labels[0].startswith("An identifier for you")
    assert labels[1] == "Your full name"
    assert "resident-tax income" in labels[2]


def test_unknown_kinds_and_methods_still_get_a_label(provider):
    with provider.test_request_context("/account?lang=ja"):
        assert kind("something-new") == "その他"
        assert approval("card-step-up") == "カードで同意"
        assert approval("something-new") == "その他"
        (label,) = items("selfinfo:unknown_category")
        assert label.endswith("unknown_category")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "The document you signed, 住宅ローン 金銭消費貸借契約書 (第2版), with your signing "
            "certificate, which shows your name, date of birth, sex and address",
        ),
        (
            "ja",
            "署名した文書「住宅ローン 金銭消費貸借契約書 (第2版)」と、"
            "氏名・生年月日・性別・住所が記載された署名用電子証明書",
        ),
    ],
)
def test_a_signed_documents_title_is_one_item_spaces_and_all(provider, language, expected):
    """A service's title is free text: split on spaces like item ids, it showed up as several
    "other information" lines. The line says the certificate's four facts went along."""
    with provider.test_request_context(f"/account?lang={language}"):
        assert items("document:住宅ローン 金銭消費貸借契約書 (第2版)") == [expected]
