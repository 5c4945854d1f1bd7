"""The page's language: a ``?lang=`` link or its cookie first, then the relying party's
``ui_locales``, then the browser's ``Accept-Language``, else Japanese."""

from __future__ import annotations

import re

import pytest

LANG = re.compile(r'<html lang="(\w+)">')


def _language(http, path="/", **headers) -> str:
    return LANG.search(http.get(path, headers=headers).get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.8, ja;q=0.5", "en"),
        ("ja,en;q=0.9", "ja"),
        ("en;q=0.2, ja;q=0.9", "ja"),
        ("fr, de", "ja"),
        ("en;q=0", "ja"),
        ("", "ja"),
    ],
)
def test_the_browsers_language_is_honoured_without_a_choice(app, accept, expected):
    assert _language(app.test_client(), **{"Accept-Language": accept}) == expected


def test_an_explicit_choice_wins_over_the_browser(app):
    http = app.test_client()
    assert _language(http, "/?lang=ja", **{"Accept-Language": "en"}) == "ja"
    assert _language(http, "/", **{"Accept-Language": "en"}) == "ja"  # the cookie remembers
    http.get("/?lang=en")
    assert _language(http, "/", **{"Accept-Language": "ja"}) == "en"
