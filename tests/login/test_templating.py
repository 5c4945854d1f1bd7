"""Templates compiled once per language with their constant translations inside
(idp/web/templating.py): every page comes out exactly as with gettext at render time, in both
languages, never in the wrong one, and rendering looks no constant text up."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from babel.support import NullTranslations
from flask import Flask, g
from jinja2 import DictLoader

from idp.web import i18n, pages
from idp.web.templating import TranslatedEnvironment
from tests.account.conftest import (  # noqa: F401 (provider, wakes: fixtures)
    add_consent,
    make_account,
    provider,
    sign_in,
    wakes,
)
from tests.login.cards import bridge_result
from tests.login.conftest import logged_in
from tests.web.render_check import rendered_plainly, stock_environment

TITLE = {"ja": "マイナンバーカードでログイン", "en": "Log in with your My Number Card"}
HTML = {"Accept": "text/html"}


def same_as_plain(app: Flask, http, path: str, lang: str, status: int = 200) -> str:
    """GET ``path`` in ``lang``; its page must equal the same template rendered by a stock
    environment (gettext at render time)."""
    with rendered_plainly(app) as plain:
        response = http.get(path, query_string={"lang": lang}, headers=HTML)
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    assert len(plain) == 1
    assert html == plain[0]
    assert f'<html lang="{lang}">' in html
    return html


def test_the_app_compiles_its_templates_per_language(card_app):
    assert isinstance(card_app.jinja_env, TranslatedEnvironment)


def test_login_refusal_consent_and_error_pages_are_unchanged_in_both_languages(
    card_app, login_page, world
):
    page = login_page()
    for lang in ("ja", "en", "ja"):
        html = same_as_plain(card_app, page.http, page.path, lang)
        assert TITLE[lang] in html
        assert TITLE["en" if lang == "ja" else "ja"] not in html
        same_as_plain(card_app, page.http, page.path + "/refused/pin_locked", lang, 403)
        same_as_plain(card_app, page.http, "/no-such-page", lang, 404)
    response = page.post(bridge_result(world.good.certificate, world.good.key, page.challenge()))
    assert logged_in(response)
    for lang in ("en", "ja"):
        same_as_plain(card_app, page.http, response.headers["Location"], lang)


def test_the_account_pages_are_unchanged_in_both_languages(provider):  # noqa: F811
    http = provider.test_client()
    account = make_account(provider)
    sign_in(provider, http, account)
    active = add_consent(provider, account)
    revoked = add_consent(provider, account, revoked_at=int(time.time()))
    for lang in ("en", "ja"):
        same_as_plain(provider, http, "/account", lang)
        same_as_plain(provider, http, f"/account/consents/{active}/revoke", lang)
        same_as_plain(provider, http, f"/account/consents/{revoked}/revoked", lang)
        same_as_plain(provider, http, "/account/consents/nothing/revoke", lang, 404)
        same_as_plain(provider, http, "/account/signed-out", lang)


def card_page(lang: str) -> str:
    login = SimpleNamespace(service="Sample Bank", transaction="tx-1", ui_locales=None)
    response = pages.page(
        "login/card.html",
        login=login,
        bridge_url="http://127.0.0.1:8003",
        challenge="challenge",
        challenge_ttl=60,
        origin="http://127.0.0.1:5000",
    )
    return response.get_data(as_text=True)


def test_a_template_compiled_for_one_language_is_never_served_for_the_other(card_app):
    for lang in ("ja", "en", "ja", "en"):
        request = card_app.test_request_context(f"/login/card/tx-1?lang={lang}")
        with request, rendered_plainly(card_app) as plain:
            html = card_page(lang)
        assert html == plain[0]
        assert f'<html lang="{lang}">' in html
        assert TITLE[lang] in html
        assert TITLE["en" if lang == "ja" else "ja"] not in html
    cache = card_app.jinja_env.cache.keys()
    assert sorted(key[2:] for key in cache if key[1] == "login/card.html") == [("en",), ("ja",)]


class Refusing(NullTranslations):
    """A catalogue that must not be asked."""

    def ugettext(self, message: str) -> str:
        raise AssertionError(f"looked up while rendering: {message!r}")


def test_rendering_the_login_page_looks_up_no_text(card_app):
    context = {"login": SimpleNamespace(service="Bank", transaction="tx-1"), "lang": "en"}
    with card_app.test_request_context("/login/card/tx-1?lang=en"):
        template = card_app.jinja_env.get_template("login/card.html")
        compiled = template.render(context)
        g.idp_catalogue = ("en", Refusing())
        assert card_app.jinja_env.get_template("login/card.html").render(context) == compiled
        with pytest.raises(AssertionError, match="looked up while rendering"):
            stock_environment(card_app).get_template("login/card.html").render(context)


TEXTS = {
    "Hello": "こんにちは",
    "Percent": "100%% sure & <b>bold</b>",
    "Named %(who)s": "<i>%(who)s</i> & co",
    "Needs": "%(who)s needs",
    "Positional": "%s",
}
TEMPLATES = {
    "page.html": (
        '{{ _("Hello") }}|{{ _(\'Percent\') }}|{{ gettext("Hello") }}|{{ _("Hello") ~ "<x>" }}|'
        '{{ _("Percent")|upper }}|{{ _("Named %(who)s", who=who) }}|'
        '{{ _("Named %(who)s", who="<lit>") }}|{% trans %}Hello{% endtrans %}|'
        "{% trans who=who %}Named {{ who }}{% endtrans %}|"
        '{{ ngettext("%(num)s apple", "%(num)s apples", 2) }}|{{ pgettext("c", "Hello") }}|'
        "{{ _(name) }}|{{ _(\"Untranslated\") }}|{{ _('Positional') }}|"
        '{% set title = _("Hello") %}{{ title }}|'
        '{% autoescape false %}{{ _("Percent") }}{{ _("Named %(who)s", who=who) }}'
        "{% endautoescape %}"
    ),
    "page.txt": '{{ _("Percent") }} {{ _("Named %(who)s", who=who) }}',
    "child.html": '{% extends "page.html" %}',
    "needs.html": '{{ _("Needs") }}',
    "macro.html": '{% macro _(s) %}[{{ s }}]{% endmacro %}{{ _("Hello") }}',
    "set.html": '{% set _ = "-".join %}{{ _("Hello") }}',
    "loop.html": '{% for _ in "ab" %}{{ _ }}{% endfor %}{{ _("Hello") }}',
}


class Catalogue(NullTranslations):
    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__()
        self.texts = texts

    def ugettext(self, message: str) -> str:
        return self.texts.get(message, message)


@pytest.fixture
def bare_app() -> Flask:
    """An app with the login's i18n and these templates, its catalogue chosen per test."""
    app = Flask(__name__)
    app.jinja_environment = TranslatedEnvironment
    app.jinja_loader = DictLoader(dict(TEMPLATES))
    i18n.init_app(app)
    return app


def both(app: Flask, name: str, language: str, texts: dict[str, str]) -> str:
    """``name`` rendered for ``language`` by the app's and by a stock environment: equal."""
    context = {"who": "<who>", "name": "Hello"}
    with app.test_request_context():
        g.idp_catalogue = (language, Catalogue(texts))
        mine = app.jinja_env.get_template(name).render(context)
        assert mine == stock_environment(app).get_template(name).render(context)
    return mine


def test_newstyle_gettext_semantics_are_kept(bare_app):
    html = both(bare_app, "page.html", "xx", TEXTS)
    assert html.startswith("こんにちは|100% sure & <b>bold</b>|こんにちは|こんにちは&lt;x&gt;|")
    assert (
        "<i>&lt;who&gt;</i> & co|<i>&lt;lit&gt;</i> & co|こんにちは|<i>&lt;who&gt;</i> & co|"
        in html
    )
    assert "|Untranslated|{}|こんにちは|100% sure & <b>bold</b><i><who></i> & co" in html
    assert both(bare_app, "child.html", "xx", TEXTS) == html
    assert both(bare_app, "page.txt", "xx", TEXTS) == "100% sure & <b>bold</b> <i><who></i> & co"


def test_each_language_gets_its_own_compilation(bare_app):
    other = {"Hello": "Hi", "Percent": "50%%"}
    for language, texts, hello in [("xx", TEXTS, "こんにちは"), ("yy", other, "Hi")] * 2:
        assert both(bare_app, "page.html", language, texts).startswith(hello + "|")
        assert both(bare_app, "child.html", language, texts).startswith(hello + "|")


def test_texts_that_need_variables_still_fail_at_render_time(bare_app):
    with bare_app.test_request_context():
        g.idp_catalogue = ("xx", Catalogue(TEXTS))
        template = bare_app.jinja_env.get_template("needs.html")
        with pytest.raises(KeyError, match="who"):
            template.render()


def test_a_template_that_rebinds_gettext_is_left_alone(bare_app):
    assert both(bare_app, "macro.html", "xx", TEXTS) == "[Hello]"
    assert both(bare_app, "set.html", "xx", TEXTS) == "H-e-l-l-o"
    assert both(bare_app, "loop.html", "xx", TEXTS) == "abこんにちは"


def test_a_changed_template_is_compiled_again_when_auto_reload_is_on(bare_app):
    bare_app.jinja_env.auto_reload = True
    assert both(bare_app, "needs.html", "xx", {"Needs": "needed"}) == "needed"
    bare_app.jinja_loader.mapping["needs.html"] = '{{ _("Hello") }}!'
    assert both(bare_app, "needs.html", "xx", TEXTS) == "こんにちは!"
    assert both(bare_app, "needs.html", "yy", {}) == "Hello!"
