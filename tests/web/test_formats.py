"""How every page writes moments and periods: Japan time with the time of day, one format; a
retention period in years and months once it is long, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest

from idp.web.formats import iso, period, when

NEW_YEAR_EVE = 1_767_225_600 - 9 * 3600
"""2025-12-31 15:00 UTC: already 2026-01-01 00:00 in Japan."""


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ja", "2026年1月1日 0:00"), ("en", "January 1, 2026 12:00\u202fAM")],
)
def test_a_moment_is_japan_date_and_time_of_day(app, language, expected):
    with app.test_request_context(f"/?lang={language}"):
        assert when(NEW_YEAR_EVE) == expected
        assert when(NEW_YEAR_EVE + 0.5) == expected
        assert iso(NEW_YEAR_EVE) == "2026-01-01T00:00:00+09:00"


def test_a_datetime_is_shown_the_same_as_its_epoch(app):
    moment = dt.datetime.fromtimestamp(NEW_YEAR_EVE, dt.UTC)
    with app.test_request_context("/?lang=ja"):
        assert when(moment) == when(NEW_YEAR_EVE) == when(moment.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("days", "ja", "en"),
    [
        (1, "1日", "1 day"),
        (30, "30日", "30 days"),
        (59, "59日", "59 days"),
        (90, "3か月", "3 months"),
        (365, "1年", "1 year"),
        (548, "1年6か月", "1 year 6 months"),
        (2557, "7年", "7 years"),
        (3653, "10年", "10 years"),
    ],
)
def test_a_period_of_days_reads_in_years_and_months(app, days, ja, en):
    with app.test_request_context("/?lang=ja"):
        assert period(days) == ja
    with app.test_request_context("/?lang=en"):
        assert period(days) == en
