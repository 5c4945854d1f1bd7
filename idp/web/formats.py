"""How every citizen page writes a moment and a length of time, in the page's language.

Moments are shown in Japan time (Asia/Tokyo) whatever the server's zone, date and time of day,
in one format on every page (``2026年11月23日 6:31`` / ``November 23, 2026 6:31 AM``); the
machine-readable form for ``<time datetime>`` is ``iso``. A retention period registered in days
is shown in years and months when it is that long (2557 days: "7 years"), since a count of
thousands of days tells a person nothing.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date, format_time
from flask_babel import get_locale, gettext, ngettext

from .i18n import DEFAULT_LANGUAGE, JAPAN

Moment = int | float | dt.datetime
DAYS_PER_MONTH = 365.25 / 12
SHOWN_IN_DAYS = 60
"""Periods shorter than this many days are shown in days."""


def _japan(moment: Moment) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
        return aware.astimezone(JAPAN)
    return dt.datetime.fromtimestamp(moment, dt.UTC).astimezone(JAPAN)


def when(moment: Moment) -> str:
    """A moment (epoch seconds, or an aware datetime; naive means UTC) as Japan-time date and
    time of day in the page's language."""
    japan = _japan(moment)
    locale = str(get_locale() or DEFAULT_LANGUAGE)
    day = format_date(japan, "long", locale=locale)
    return f"{day} {format_time(japan, 'short', locale=locale)}"


def iso(moment: Moment) -> str:
    """The machine-readable form of ``when`` for ``<time datetime>``."""
    return _japan(moment).isoformat()


def period(days: int) -> str:
    """A number of days as a person reads it: days below two months, else years and months
    (rounded to the nearest month)."""
    if days < SHOWN_IN_DAYS:
        return ngettext("%(num)d day", "%(num)d days", days)
    years, months = divmod(round(days / DAYS_PER_MONTH), 12)
    shown_years = ngettext("%(num)d year", "%(num)d years", years)
    shown_months = ngettext("%(num)d month", "%(num)d months", months)
    if not months:
        return shown_years
    if not years:
        return shown_months
    return gettext("%(years)s %(months)s", years=shown_years, months=shown_months)


def helpers() -> dict:
    """What every template may call."""
    return {"when": when, "iso": iso, "period": period}
