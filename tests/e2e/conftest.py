"""Fixtures for the browser tests: Debian's Chromium under Playwright, one context per test.

- ``browser`` (session): Chromium launched once; fails (never skips) if ``script/bootstrap`` has not
  installed it.
- ``locale`` (default ``ja-JP``; override with ``@pytest.mark.parametrize("locale", [...])``): the
  browser's language, hence ``Accept-Language``.
- ``context`` and ``page``: a fresh browser context per test (no cookies shared between tests) on a
  1280×800 window. When the test ends, every window still open is saved under
  ``test-artifacts/screenshots/<test name>.png`` (pop-ups: ``<test name>-window2.png``, …), pass or
  fail. Use :func:`tests.e2e.browser.snap` for each state on the way.
- ``card`` and ``start_bridge``: a sandbox card (PINs 1234 / ABC123) in "Virtual PCD 00 01" through
  pcscd and vpcd, and the real ``jpki-bridge run`` on a free loopback port reading it, allowing the
  origins a test names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import (  # noqa: F401 (fixtures shared with the bridge suite)
    InsertedCard,
    insert_card,
    reader_lock,
    sandbox,
    template_state,
)
from tests.e2e import browser as b
from tests.e2e.browser import Browser, BrowserContext, Page, Playwright, sync_playwright


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync driver. Once started it keeps an event loop running in the main thread
    for the rest of the session, so in-process code that calls ``asyncio.run`` (pyHanko, in the
    document suites) fails after it: browser tests live here, in tests/e2e, and import nothing
    of this module's session fixtures into other suites (a second driver fails too)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = b.launch(playwright)
    b.assert_japanese_renders(chromium)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, checked once so a missing install fails before any page opens."""
    return b.require_axe()


@pytest.fixture
def locale() -> str:
    return "ja-JP"


@pytest.fixture
def context(
    browser: Browser, locale: str, axe_source: str, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale=locale, viewport=dict(b.VIEWPORT))  # type: ignore[arg-type]
    ctx.set_default_timeout(10_000)
    b.register(id(ctx), request.node.name)
    try:
        yield ctx
    finally:
        for number, window in enumerate(ctx.pages, start=1):
            if not window.is_closed():
                b.snap(window, None if number == 1 else f"window{number}")
        b.unregister(id(ctx))
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# --- the bridge with a card ---------------------------------------------------------------------


@pytest.fixture
def card(sandbox, reader_lock: None) -> Iterator[InsertedCard]:  # noqa: F811
    """A fresh card with full PIN tries in Virtual PCD 00 01 (only this test uses the reader)."""
    with insert_card(*sandbox) as handle:
        yield handle


@pytest.fixture
def start_bridge(card: InsertedCard) -> Iterator[Callable[..., BridgeProcess]]:
    """``start_bridge(origin, …)``: ``jpki-bridge run`` on the card's reader, PINs on its page."""
    started: list[BridgeProcess] = []

    def start(*origins: str) -> BridgeProcess:
        args = ["--reader", card.reader, "--pin-timeout", "30"]
        for origin in origins:
            args += ["--allow-origin", origin]
        bridge = BridgeProcess.start(*args, pin_stdin=False)
        started.append(bridge)
        return bridge

    try:
        yield start
    finally:
        for bridge in started:
            bridge.stop()
