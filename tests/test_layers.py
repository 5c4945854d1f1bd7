"""The IdP's packages import one way, down the layers, with no cycles; no module is too long.

The layers, highest first (docs/architecture.md §2). A package may import a package of a lower
layer, or one of its own layer as long as the package graph stays acyclic; never one above it:

    1  idp (create_app), idp.cli, idp.wsgi, idp.gunicorn_conf  - assembly
    2  idp.account, idp.documents, idp.selfinfo, idp.errorpages, idp.cardstatus - features
    3  idp.consent, idp.login                                   - the login and consent features;
                                                                  consent above login
    4  idp.oidc        - Authlib wiring and the protocol endpoints, nothing else
    5  idp.web         - what every page shares: rendering, CSRF, language, security headers,
                         refusal-page base, browser-bound transactions
    6  idp.metrics     - counters and registry
    7  idp.storage
    8  idp.config, idp.services, idp.audit, idp.logs, idp.proxy
    9  idp.jpki        - the card and PKI core; imports no other idp package

Where oidc needs something from a feature (which claims a grant releases, say), the feature hands
it to oidc when the app is built; oidc does not import it. Every import counts, at module level
or inside a function, under ``TYPE_CHECKING`` or not. A new package must be placed in ``LAYERS``.

Besides: nothing in ``idp/`` or ``client_bridge/`` imports ``sandbox`` or ``tests`` (the sandbox
is configuration, never a code path of the product), ``idp/`` does not import ``client_bridge``
(the citizen's program), and no module of ``idp/`` but the generated migrations is longer than
``MAX_LINES``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDP = ROOT / "idp"
MAX_LINES = 400

LAYERS = {
    "idp": 1,
    "idp.cli": 1,
    "idp.wsgi": 1,
    "idp.gunicorn_conf": 1,
    "idp.account": 2,
    "idp.documents": 2,
    "idp.selfinfo": 2,
    "idp.errorpages": 2,
    "idp.cardstatus": 2,
    "idp.consent": 3,
    "idp.login": 3,
    "idp.ssf": 3,
    "idp.oidc": 4,
    "idp.web": 5,
    "idp.metrics": 6,
    "idp.storage": 7,
    "idp.config": 8,
    "idp.services": 8,
    "idp.audit": 8,
    "idp.logs": 8,
    "idp.proxy": 8,
    "idp.jpki": 9,
}
BELOW = {"idp.login": "idp.consent"}
"""Order inside a layer: the consent's card step uses the login's card check, never the reverse."""


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every Python module under ``root``, migrations excluded."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imported(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import in the module ``name``: ``from X import
    y`` yields ``X.y`` (which may be a module of X or a name defined in it)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def unit(target: str) -> str | None:
    """The layer table's unit a module belongs to: ``idp`` itself or ``idp.<top>``."""
    parts = target.split(".")
    if parts[0] != "idp":
        return None
    if len(parts) == 1 or not _exists(parts[1]):
        return "idp"
    return "idp." + parts[1]


def _exists(top: str) -> bool:
    return (IDP / top).is_dir() or (IDP / f"{top}.py").is_file()


def package_graph() -> dict[tuple[str, str], list[str]]:
    """{(importing unit, imported unit): ["idp/x/y.py:12", ...]} over every module of idp/."""
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in modules(IDP):
        source = unit(name)
        for target, line in imported(name, path):
            destination = unit(target)
            if destination and destination != source:
                where = f"{path.relative_to(ROOT)}:{line}"
                edges.setdefault((source, destination), []).append(where)
    return edges


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for following in graph.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def cycles(edges) -> list[list[str]]:
    """Every group of units that reach each other through imports."""
    graph: dict[str, set[str]] = {}
    for source, destination in edges:
        graph.setdefault(source, set()).add(destination)
    reach = {unit_name: reachable(graph, unit_name) for unit_name in graph}
    groups = {
        tuple(sorted(other for other in reach if other in reach[member] and member in reach[other]))
        for member in reach
        if member in reach[member]
    }
    return sorted(list(group) for group in groups)


def layer_violations(edges) -> Iterator[str]:
    for unit_name in sorted({u for edge in edges for u in edge} - set(LAYERS)):
        yield f"{unit_name} is not in the layer table"
    for (source, destination), places in edges.items():
        if source in LAYERS and destination in LAYERS and LAYERS[destination] < LAYERS[source]:
            yield f"{source} imports {destination}, a higher layer ({places[0]})"
        if BELOW.get(source) == destination:
            yield f"{source} imports {destination}, above it in its layer ({places[0]})"
        if source == "idp.jpki":
            yield f"idp.jpki imports {destination} ({places[0]})"
    for group in cycles(edges):
        yield "cycle: " + " <-> ".join(group)


FORBIDDEN = {"idp": ("sandbox", "tests", "client_bridge"), "client_bridge": ("sandbox", "tests")}
"""What the product's two programs never import."""


def forbidden_imports() -> Iterator[str]:
    for top, forbidden in FORBIDDEN.items():
        for name, path in modules(ROOT / top):
            for target, line in imported(name, path):
                if target.split(".")[0] in forbidden:
                    yield f"{path.relative_to(ROOT)}:{line} imports {target.split('.')[0]}"


def long_modules() -> Iterator[str]:
    for _name, path in modules(IDP):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            yield f"{path.relative_to(ROOT)} has {lines} lines"


def violations() -> set[str]:
    return {*layer_violations(package_graph()), *forbidden_imports(), *long_modules()}


def test_the_packages_import_down_the_layers_without_cycles():
    assert sorted(violations()) == []
