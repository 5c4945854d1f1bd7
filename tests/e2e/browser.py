"""What every browser test uses: Debian's Chromium under Playwright, screenshots, axe-core, and the
keyboard and zoom checks of WCAG 2.1 AA.

Nothing here downloads anything: the browser is the Debian package ``chromium`` and axe-core is the
npm package pinned in ``tests/e2e/package-lock.json``; ``script/bootstrap`` installs both. A missing
piece fails the test with that instruction rather than skipping it.

The fixtures in ``conftest.py`` build on these functions; tests call :func:`snap`, :func:`axe`,
:func:`tab_through`, :func:`assert_keyboard_reachable`, :func:`zoom` and :func:`assert_reflows`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import (  # noqa: F401 (conftest.py imports them from here)
        Browser,
        BrowserContext,
        Page,
        Playwright,
        sync_playwright,
    )
except ImportError as error:  # the dev extra of pyproject.toml has it
    raise ImportError("playwright is missing from .venv: run script/bootstrap") from error

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BOOTSTRAP = "run script/bootstrap (it installs Debian's chromium and the tests/e2e node modules)"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start-up; this machine's closed network refuses the
    # connections and the browser then stalls or logs noise.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BOOTSTRAP_FONTS = "run script/bootstrap (it installs fonts-noto-cjk)"
WCAG21AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
VIEWPORT = {"width": 1280, "height": 800}
"""The desktop window every page is opened in; 200% zoom halves it (see :func:`zoom`)."""


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {BOOTSTRAP}", pytrace=False)


def require_axe() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: {BOOTSTRAP}", pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless. Playwright gives every launch a fresh, empty user-data-dir
    (a temporary profile it deletes on close), so no state leaks between sessions."""
    require_chromium()
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS), timeout=30_000
    )


_GLYPHS = """() => {
    const draw = (text) => {
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 48;
        const g = canvas.getContext("2d");
        g.font = "40px sans-serif";
        g.fillText(text, 2, 40);
        return canvas.toDataURL();
    };
    return [draw("暗"), draw("証")];
}"""


def assert_japanese_renders(browser: Browser) -> None:
    """Two different kanji drawn alike are both the "no glyph" box: no Japanese font installed."""
    page = browser.new_page()
    try:
        page.set_content('<html lang="ja"><body></body></html>')
        first, second = page.evaluate(_GLYPHS)
    finally:
        page.close()
    if first == second:
        pytest.fail(f"Chromium draws Japanese as empty boxes: {BOOTSTRAP_FONTS}", pytrace=False)


# --- screenshots ------------------------------------------------------------------------------

_TEST_NAMES: dict[int, str] = {}
"""id(BrowserContext) → the test that owns it, so :func:`snap` can name files from a page alone."""


def file_part(text: str) -> str:
    """A test id or label as a safe file name (``test_x[ja-JP]`` → ``test_x-ja-JP``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def register(context_id: int, test_name: str) -> None:
    _TEST_NAMES[context_id] = file_part(test_name)


def unregister(context_id: int) -> None:
    _TEST_NAMES.pop(context_id, None)


def screenshot_path(page: Page, label: str | None = None) -> Path:
    name = _TEST_NAMES.get(id(page.context), "unnamed")
    if label:
        name += "-" + file_part(label)
    return SCREENSHOTS / f"{name}.png"


def snap(page: Page, label: str | None = None) -> Path:
    """Save the whole page as ``test-artifacts/screenshots/<test name>[-<label>].png``."""
    path = screenshot_path(page, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


# --- axe-core -----------------------------------------------------------------------------------


def axe(page: Page, *, tags: tuple[str, ...] = WCAG21AA) -> dict[str, Any]:
    """Run axe-core on the page as it is now; fail listing every violation of ``tags``.

    axe is evaluated through the DevTools protocol, which a page's CSP does not govern, so pages
    are checked under their real CSP (no ``bypass_csp``). Returns axe's full results.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(require_axe())
    results = page.evaluate(
        """async (tags) => {
            axe.reset();
            return await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
        }""",
        list(tags),
    )
    violations = results["violations"]
    if violations:
        pytest.fail(
            f"axe-core found {len(violations)} violation(s) of {', '.join(tags)} on {page.url}:\n"
            + "\n".join(describe_violation(v) for v in violations),
            pytrace=False,
        )
    return results


def describe_violation(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    lines.append(f"  {violation['helpUrl']}")
    for node in violation["nodes"]:
        lines.append(f"  at {json.dumps(node['target'])}: {node['html'][:160]}")
        summary = (node.get("failureSummary") or "").replace("\n", " ")
        if summary:
            lines.append(f"    {summary}")
    return "\n".join(lines)


# --- keyboard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Focus:
    """The focused element after a key press, as a person would identify it."""

    key: str
    """A stable identity: tag, id or name, and text (e.g. ``input#pin``, ``button:取り消す``)."""
    tag: str
    name: str
    """Its accessible name as far as the page shows it (label, text, aria-label, value)."""
    outline: bool
    """A visible focus indicator: an outline or box-shadow is drawn (WCAG 2.4.7)."""


_FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
    const name = (e.getAttribute("aria-label") || label || e.innerText || e.value || "").trim();
    const id = e.id ? "#" + e.id : (e.name ? "[name=" + e.name + "]" : "");
    return {
        key: e.tagName.toLowerCase() + id + ":" + (e.innerText || "").trim(),
        tag: e.tagName.toLowerCase(),
        name: name,
        outline: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                 || style.boxShadow !== "none",
    };
}"""

_CONTROLS = """() => {
    const selector = "a[href], button, input:not([type=hidden]), select, textarea, "
                   + "[tabindex]:not([tabindex='-1']), summary";
    return [...document.querySelectorAll(selector)]
        .filter(e => !e.disabled && e.getClientRects().length > 0
                     && getComputedStyle(e).visibility !== "hidden")
        .map(e => {
            const id = e.id ? "#" + e.id : (e.name ? "[name=" + e.name + "]" : "");
            return e.tagName.toLowerCase() + id + ":" + (e.innerText || "").trim();
        });
}"""


_TOP = """() => {
    // Sequential focus navigation starts after the focused element: put a throw-away focus
    // target before everything else, as if the person had just opened the page.
    const start = document.createElement("span");
    start.id = "e2e-focus-start";
    start.tabIndex = -1;
    document.body.prepend(start);
    start.focus();
}"""


def focused(page: Page) -> Focus | None:
    """The element holding the keyboard focus, or None when it is the page itself."""
    found = page.evaluate(_FOCUSED)
    return None if found is None else Focus(**found)


def controls(page: Page) -> list[str]:
    """Every visible interactive element, in document order, keyed like :attr:`Focus.key`."""
    return page.evaluate(_CONTROLS)


def tab_through(page: Page, limit: int = 60) -> list[Focus]:
    """Press Tab from the top of the page until focus comes back round; the focus order."""
    page.evaluate(_TOP)
    order: list[Focus] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        page.evaluate("() => document.getElementById('e2e-focus-start')?.remove()")
        now = focused(page)
        if now is None or (order and now.key == order[0].key):
            break
        order.append(now)
    return order


def assert_keyboard_reachable(page: Page) -> list[Focus]:
    """Every visible control gets the keyboard focus by Tab alone, with a visible indicator."""
    order = tab_through(page)
    reached = {focus.key for focus in order}
    missing = [control for control in controls(page) if control not in reached]
    assert not missing, f"not reachable with Tab: {missing}; focus order: {order}"
    hidden = [focus.key for focus in order if not focus.outline]
    assert not hidden, f"no visible focus indicator on: {hidden}"
    return order


# --- zoom ---------------------------------------------------------------------------------------


def zoom(page: Page, percent: int = 200) -> None:
    """What browser zoom does to layout: the desktop window's viewport in CSS pixels shrinks by
    ``percent``/100 (1280 px at 200% lays out like a 640 px wide window; WCAG 1.4.4 and 1.4.10)."""
    factor = percent / 100
    page.set_viewport_size(
        {"width": round(VIEWPORT["width"] / factor), "height": round(VIEWPORT["height"] / factor)}
    )


_OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const selector = "a[href], button, input:not([type=hidden]), select, textarea, label, "
                   + "h1, h2, h3, p, dt, dd, li";
    const outside = [...document.querySelectorAll(selector)]
        .filter(e => e.getClientRects().length > 0)
        .filter(e => { const r = e.getBoundingClientRect();
                       return r.left < -0.5 || r.right > width + 0.5; })
        .map(e => e.outerHTML.slice(0, 120));
    return {scrollWidth: document.documentElement.scrollWidth, width: width, outside: outside};
}"""


def assert_reflows(page: Page) -> None:
    """No horizontal scrolling and no control or text block cut off at the side (WCAG 1.4.10)."""
    found = page.evaluate(_OVERFLOW)
    assert found["scrollWidth"] <= found["width"], f"horizontal scroll at {page.url}: {found}"
    assert not found["outside"], f"cut off at the side of {page.url}: {found['outside']}"
