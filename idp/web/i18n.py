"""Languages of the citizen's pages: Japanese by default, English one click away.

The choice is made, in this order, by a ``?lang=`` link on any page (and then remembered in a
cookie), by that cookie, by the relying party's ``ui_locales`` hint (OIDC Core §3.1.2.1), by the
browser's ``Accept-Language``, and otherwise Japanese. Catalogues are gettext files, one per
package with pages (``idp/<package>/translations``), compiled by ``script/bootstrap``
(``pybabel compile``).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from flask import Flask, g, request
from flask_babel import Babel, get_locale, get_translations
from werkzeug.wrappers import Response

JAPAN = ZoneInfo("Asia/Tokyo")
"""Citizens' pages show times in Japan time, whatever the server's zone."""
LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
COOKIE = "idp_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
"""Seconds the language choice is remembered: a year."""


def _known(tag: object) -> str | None:
    if not isinstance(tag, str):
        return None
    language = tag.strip().split("-")[0].split("_")[0].lower()
    return language if language in LANGUAGES else None


def cookie_name() -> str:
    """``__Host-idp_lang`` over https (Secure, host-only, path /: no other host may set it)."""
    return ("__Host-" if request.scheme == "https" else "") + COOKIE


def select_locale() -> str:
    """The language of this response."""
    for chosen in (request.args.get("lang"), request.cookies.get(cookie_name())):
        if _known(chosen):
            return _known(chosen)  # type: ignore[return-value]
    for hinted in (g.get("ui_locales") or "").split():
        if _known(hinted):
            return _known(hinted)  # type: ignore[return-value]
    return _browser_language() or DEFAULT_LANGUAGE


def _browser_language() -> str | None:
    """The browser's preferred language among ours (``Accept-Language``, RFC 9110 §12.5.4)."""
    for tag, quality in request.accept_languages:  # best first
        if quality > 0 and _known(tag):
            return _known(tag)
    return None


def remember_choice(response: Response) -> Response:
    """After a ``?lang=`` link, keep the choice in a cookie for the next pages and visits."""
    chosen = _known(request.args.get("lang"))
    if chosen and chosen != request.cookies.get(cookie_name()):
        response.set_cookie(
            cookie_name(),
            chosen,
            max_age=COOKIE_MAX_AGE,
            secure=request.scheme == "https",
            httponly=True,
            samesite="Lax",
        )
    return response


def other_language(current: str) -> str:
    """The language the switch link offers."""
    return "en" if current == "ja" else "ja"


def catalogue_folders() -> list[str]:
    """Every package's translations folder: flask-babel merges them into one domain."""
    root = Path(__file__).resolve().parent.parent
    return sorted(str(folder) for folder in root.glob("*/translations") if folder.is_dir())


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(catalogue_folders())
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT_LANGUAGE)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _translations():
    """This request's catalogue (see ``request_catalogue``)."""
    return request_catalogue()[1]


def request_catalogue() -> tuple[str, NullTranslations]:
    """This request's language and catalogue, found once per request: flask-babel looks the
    catalogue up again for every string, and the login page has dozens
    (bench/results/flow-profile.md). Templates are compiled per language with this catalogue
    (``templating``), so the two always agree."""
    found = g.get("idp_catalogue")
    if found is None:
        found = g.idp_catalogue = (str(get_locale()), get_translations())
    return found
