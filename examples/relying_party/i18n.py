"""Languages of the bank's pages: Japanese by default, English one click away.

The bank has its own gettext catalogue (``translations/``); it is compiled at start into the
instance folder, so the source tree holds only the ``.po`` files.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel
from werkzeug.wrappers import Response

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
COOKIE = "bank_lang"
SOURCE = Path(__file__).resolve().parent / "translations"


def _known(tag: object) -> str | None:
    if not isinstance(tag, str):
        return None
    language = tag.strip().split("-")[0].lower()
    return language if language in LANGUAGES else None


def select_locale() -> str:
    """``?lang=``, then the remembered choice, then the browser's ``Accept-Language``, then
    Japanese."""
    chosen = _known(request.args.get("lang")) or _known(request.cookies.get(COOKIE))
    browser = (_known(tag) for tag, quality in request.accept_languages if quality > 0)
    return chosen or next((tag for tag in browser if tag), DEFAULT)


def remember_choice(response: Response) -> Response:
    chosen = _known(request.args.get("lang"))
    if chosen and chosen != request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response


def compile_catalogue(target: Path) -> Path:
    """``translations/*/LC_MESSAGES/messages.po`` → ``target/…/messages.mo`` when out of date."""
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalogue = read_po(source)
        with mo.open("wb") as out:
            write_mo(out, catalogue)
    return target


def init_app(app: Flask, compiled: Path) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compile_catalogue(compiled))
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT)
    app.after_request(remember_choice)
