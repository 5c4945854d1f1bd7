"""Rendering a citizen page: the chosen language, its cookie and the strict headers.

Every page of every package goes through ``page`` (or ``finish``, for a response built another
way) so none can forget a header, including the pages the authenticator renders from inside
``/authorize`` (another blueprint).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, make_response, render_template, request
from flask_babel import get_locale
from werkzeug.wrappers import Response

from ..services import services
from . import i18n, security
from .bridge import BRIDGE


def blueprint(name: str, import_name: str) -> Blueprint:
    """A package's pages: its ``templates`` folder, and its ``static`` one served at
    ``/<name>/static``."""
    return Blueprint(
        name,
        import_name,
        template_folder="templates",
        static_folder="static",
        static_url_path=f"/{name}/static",
    )


def switch_link(other: str, path: str | None = None) -> str:
    """This page (a GET of it) in the other language, keeping its query."""
    query = {**request.args.to_dict(), "lang": other} if path is None else {"lang": other}
    return (path or request.path) + "?" + urlencode(query)


def page(template: str, status: int = 200, *, path: str | None = None, **context) -> Response:
    """``template`` rendered in the chosen language, with the citizen pages' headers.

    ``path``: where the language switch leads when this response answers a POST.
    """
    language = str(get_locale() or i18n.DEFAULT_LANGUAGE)
    other = i18n.other_language(language)
    html = render_template(
        template,
        lang=language,
        other_lang=other,
        switch_href=switch_link(other, path),
        csrf_token=security.csrf_token(),
        **context,
    )
    return finish(make_response(html, status))


def finish(response: Response) -> Response:
    """Headers and the remembered language for any response of the citizen pages."""
    i18n.remember_choice(response)
    return security.harden(response, services()[BRIDGE].bridge_origin)
