"""Templates compiled once per language, their constant translations already inside.

A page such as the card login has dozens of ``{{ _("…") }}`` with a constant text, most without
variables. Rendered as written, each one is a call of the i18n extension's newstyle
``gettext`` (two ``Context.call`` and a catalogue lookup): most of the page's CPU. Their result
depends only on the language, so ``TranslatedEnvironment`` looks them up once, when it compiles
a template for a language, and caches the compiled template under (template, language):

- ``_load_template`` is Jinja's own, with the request's language added to the cache key, so a
  template compiled for one language is never served in the other. Outside a request (no
  language), or with a bytecode cache (whose key knows no language), templates are compiled and
  cached as Jinja does, translations left to ``gettext`` at render time. ``auto_reload`` works
  as before: a changed template file is compiled again.
- ``_parse``, while ``_load_template`` compiles for a language, replaces every
  ``_("constant")`` / ``gettext("constant")`` call by what newstyle gettext computes from it:
  the translation, ``Markup`` when autoescaping (``MarkSafeIfAutoescape``), ``%``-formatted with
  the call's variables. Without variables that is a constant (``%%`` already ``%``), which
  Jinja folds into the template's output text; with variables only the ``%`` is left for render
  time. ``ngettext`` and the others, non-constant texts, texts that would not format without
  variables, and every call in a template that rebinds ``_`` or ``gettext`` are left as they
  are, to run at render time.

``_`` and ``gettext`` are therefore reserved: no template context may rebind them (the
``tests.web.render_check`` pytest plugin checks this, and renders every page a suite renders
a second time through a stock environment to compare).
"""

from __future__ import annotations

import typing as t
import weakref
from collections.abc import Callable, MutableMapping
from contextvars import ContextVar

from flask import has_request_context
from flask.templating import Environment
from jinja2 import Template, nodes
from jinja2.utils import internalcode
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from . import i18n

GETTEXT_NAMES = frozenset({"_", "gettext"})
"""The names under which the newstyle gettext of one string is installed in templates."""

_compiling_with: ContextVar[Callable[[str], str] | None] = ContextVar(
    "idp_templating_gettext", default=None
)
"""The catalogue lookup of the language being compiled for, set by ``_load_template`` only."""


class TranslatedEnvironment(Environment):
    """Flask's template environment, compiling each template once per language."""

    @internalcode
    def _load_template(self, name: str, globals: MutableMapping[str, t.Any] | None) -> Template:
        if not has_request_context() or self.bytecode_cache is not None or self.loader is None:
            return super()._load_template(name, globals)
        language, catalogue = i18n.request_catalogue()
        # As Jinja's Environment._load_template, with the language in the key.
        key = (weakref.ref(self.loader), name, language)
        if self.cache is not None:
            template = self.cache.get(key)
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        compiling = _compiling_with.set(catalogue.ugettext)
        try:
            template = self.loader.load(self, name, self.make_globals(globals))
        finally:
            _compiling_with.reset(compiling)
        if self.cache is not None:
            self.cache[key] = template
        return template

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        gettext = _compiling_with.get()
        if gettext is None or _rebinds_gettext(tree):
            return tree
        tree = _ConstantTranslations(gettext).visit(tree)
        tree.set_environment(self)
        return tree


class _ConstantTranslations(NodeTransformer):
    """Replaces ``_("constant", **variables)`` calls by their translation in one language."""

    def __init__(self, gettext: Callable[[str], str]) -> None:
        self.gettext = gettext

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        self.generic_visit(node)
        translated = self._translated(node)
        if translated is None:
            return node
        translated.set_lineno(node.lineno)
        return translated

    def _translated(self, call: nodes.Call) -> nodes.Expr | None:
        """What newstyle gettext computes for ``call``, or None if it is not ``_("constant")``.

        That is ``(Markup(text) if autoescaping else text) % variables``: with no variables, a
        constant (when the text formats without any); with variables, the same ``%`` at render
        time, on the text looked up now.
        """
        if not (isinstance(call.node, nodes.Name) and call.node.name in GETTEXT_NAMES):
            return None
        if call.dyn_args or call.dyn_kwargs or len(call.args) != 1:
            return None
        (message,) = call.args
        if not (isinstance(message, nodes.Const) and isinstance(message.value, str)):
            return None
        keys = [keyword.key for keyword in call.kwargs]
        if len(set(keys)) != len(keys) or any(key.startswith("__") for key in keys):
            return None  # repeated, or gettext's own parameters: keep the error they raise
        translated = self.gettext(message.value)
        if call.kwargs:
            variables = [nodes.Pair(nodes.Const(k.key), k.value) for k in call.kwargs]
            return nodes.Mod(
                nodes.MarkSafeIfAutoescape(nodes.Const(translated)), nodes.Dict(variables)
            )
        try:
            # Catalogues are ours and trusted: newstyle gettext marks them safe too.
            plain, marked = translated % {}, Markup(translated) % {}  # noqa: S704
        except (KeyError, TypeError, ValueError):
            return None  # needs variables: let it fail at render time, as before
        if str(marked) != plain:
            return None
        return nodes.MarkSafeIfAutoescape(nodes.Const(plain))


def _rebinds_gettext(tree: nodes.Template) -> bool:
    """Whether ``_`` or ``gettext`` may mean something else somewhere in this template."""
    bound: set[str] = set()
    bound.update(n.name for n in tree.find_all(nodes.Name) if n.ctx != "load")
    bound.update(n.name for n in tree.find_all(nodes.Macro))
    bound.update(n.target for n in tree.find_all(nodes.Import))
    for imported in tree.find_all(nodes.FromImport):
        bound.update(n[1] if isinstance(n, tuple) else n for n in imported.names)
    return not bound.isdisjoint(GETTEXT_NAMES)
