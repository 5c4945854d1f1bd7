"""Pages rendered twice: through the app's ``TranslatedEnvironment`` and through a stock one.

``stock_environment(app)`` is the app's template environment without the per-language
compilation (idp/web/templating.py): every ``_()`` runs newstyle gettext at render time, as
before it. ``rendered_plainly(app)`` renders again, that way, every template the app renders.

Used by tests/login/test_templating.py, and as a plugin in every test run (``pytest_plugins`` in
tests/conftest.py): every page the tests render is rendered a second time through a stock
environment, and the session fails if one differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask, template_rendered
from flask.templating import Environment

from idp.web.templating import GETTEXT_NAMES, TranslatedEnvironment


def stock_environment(app: Flask) -> Environment:
    """Flask's own environment with the app's extensions, globals (the installed newstyle
    gettext among them), filters, tests and policies."""
    found = app.extensions.get("tests.stock_jinja")
    if found is None:
        mine = app.jinja_env
        assert isinstance(mine, TranslatedEnvironment)
        found = Environment(
            app,
            autoescape=mine.autoescape,
            auto_reload=mine.auto_reload,
            extensions=list(mine.extensions),
        )
        assert not isinstance(found, TranslatedEnvironment)
        for table in ("globals", "filters", "tests", "policies"):
            getattr(found, table).update(getattr(mine, table))
        found.newstyle_gettext = mine.newstyle_gettext  # type: ignore[attr-defined]
        app.extensions["tests.stock_jinja"] = found
    return found


@contextmanager
def rendered_plainly(app: Flask) -> Iterator[list[str]]:
    """The list of every template ``app`` renders meanwhile, rendered again (in the same
    request) through ``stock_environment(app)``."""
    plain: list[str] = []

    def again(sender: Flask, template, context: dict, **extra) -> None:
        assert GETTEXT_NAMES.isdisjoint(context), "_ and gettext are reserved in templates"
        plain.append(stock_environment(sender).get_template(template.name).render(context))

    with template_rendered.connected_to(again, app):
        yield plain


_differences: list[str] = []
_compared: set[tuple[str, str]] = set()


def _compare(sender: Flask, template, context: dict, **extra) -> None:
    if not isinstance(sender.jinja_env, TranslatedEnvironment):
        return
    _compared.add((template.name, str(context.get("lang"))))
    mine = template.render(context)
    plain = stock_environment(sender).get_template(template.name).render(context)
    if mine != plain or not GETTEXT_NAMES.isdisjoint(context):
        _differences.append(f"{template.name} (lang={context.get('lang')})")


def pytest_configure(config: pytest.Config) -> None:
    template_rendered.connect(_compare)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _differences:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    verdict = "some differ" if _differences else "all identical"
    terminalreporter.write_line(
        f"render_check: {len(_compared)} (template, language) pairs rendered twice: {verdict}"
    )
    if config.option.verbose > 0:
        pairs = ", ".join(f"{name} ({lang})" for name, lang in sorted(_compared))
        terminalreporter.write_line(f"render_check: {pairs}")
    for difference in sorted(set(_differences)):
        terminalreporter.write_line(f"render_check: differs from stock Jinja: {difference}")
