"""How the bank's pages say what the IdP sent: times in Japan time with the time of day, dates
and the trust framework in words, rates as exact decimals, money in whole yen.

One format for every time on every page, in the page's language: ``2026年12月8日 03:42（日本時間）``
or ``8 December 2026, 03:42 (Japan time)``. Japan has no daylight saving time, so Japan time is
UTC+9 all year. What the bank stores stays as the IdP sent it (the "received" page shows that).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from flask_babel import gettext

from . import affordability
from .web import bp, language

JAPAN = dt.timezone(dt.timedelta(hours=9), "JST")
DATE_PATTERNS = {"ja": "y年M月d日", "en": "d MMMM y"}


def _moment(value: object) -> dt.datetime | None:
    """Epoch seconds, or an ISO 8601 time with its offset (``Z`` or ``+09:00``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else None  # a time without its zone is not a time
    return None


@bp.app_template_filter("japan_time")
def japan_time(value: object) -> str:
    """``1765219320`` or ``"2025-12-08T18:42:00Z"`` → the date and time of day in Japan."""
    moment = _moment(value)
    if moment is None:
        return str(value or "")
    local = moment.astimezone(JAPAN)
    date = format_date(local.date(), DATE_PATTERNS.get(language(), "y-MM-dd"), locale=language())
    return gettext("%(date)s, %(time)s (Japan time)", date=date, time=local.strftime("%H:%M"))


@bp.app_template_filter("calendar_date")
def calendar_date(value: object) -> str:
    """``"1980-04-01"`` → ``1980年4月1日`` / ``1 April 1980``."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return format_date(day, DATE_PATTERNS.get(language(), "y-MM-dd"), locale=language())


@bp.app_template_filter("trust_framework")
def trust_framework(value: object) -> str:
    """The OIDC4IDA trust framework in words; one the bank does not know, by its name."""
    if value == "jp_aml":
        return gettext(
            "Identity verification under the Act on Prevention of Transfer of Criminal Proceeds"
        )
    return str(value or "")


@bp.app_template_filter("percent")
def percent(rate: Decimal | str, places: int = 2) -> str:
    """A ratio (``Decimal("0.33")``) in percent, to ``places`` decimals: ``33``."""
    return str(affordability.percent(Decimal(rate), places))
