"""The gettext catalogues are complete: every text of the citizen pages has a Japanese
translation, none is fuzzy, and none is left over from texts that no longer exist (issue 7 §5)."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.login.cards import ROOT

TRANSLATIONS = ROOT / "idp" / "translations"
LANGUAGES = ("ja",)
"""English is the source language: its texts are the msgids themselves."""


def _source_texts() -> set[str]:
    method_map = [("idp/login/**.py", "python"), ("idp/login/templates/**.html", "jinja2")]
    found = extract_from_dir(str(ROOT), method_map=method_map)
    return {message for _file, _line, message, _comments, _context in found}


def _catalogue(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


def test_every_text_is_translated_and_nothing_is_fuzzy():
    texts = _source_texts()
    assert len(texts) > 40
    for language in LANGUAGES:
        catalogue = _catalogue(language)
        assert not catalogue.fuzzy, f"{language}: the catalogue header is fuzzy"
        entries = {m.id: m for m in catalogue if m.id}
        missing = sorted(texts - entries.keys())
        assert not missing, f"{language}: not in the catalogue: {missing}"
        untranslated = sorted(i for i, m in entries.items() if not m.string)
        assert not untranslated, f"{language}: untranslated: {untranslated}"
        fuzzy = sorted(i for i, m in entries.items() if m.fuzzy)
        assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
        stale = sorted(entries.keys() - texts)
        assert not stale, f"{language}: no longer used: {stale}"


def test_placeholders_survive_translation():
    for language in LANGUAGES:
        for message in _catalogue(language):
            for name in ("%(service)s", "%(origin)s"):
                if message.id and name in message.id:
                    assert name in message.string, (language, message.id)
