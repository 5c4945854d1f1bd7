"""The error pages in Debian's Chromium: readable in both languages, axe-clean, keyboard-only
and at 200% zoom, under their real CSP. Screenshots of each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import free_port
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, snap, zoom
from tests.login.cards import compile_catalogues
from tests.oidc.live import serving


@pytest.fixture(scope="module")
def idp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.conftest import drop_schema, idp_test_config, make_app

    compile_catalogues()
    tmp = tmp_path_factory.mktemp("errors")
    app = make_app(idp_test_config(f"sqlite:///{tmp}/idp.sqlite3"), tmp / "instance")
    with serving(app, free_port()) as url:
        yield url
    drop_schema(app)


@pytest.mark.parametrize(
    ("path", "japanese", "english"),
    [
        ("/no/such/page", "このページは存在しません", "This page does not exist"),
        (
            "/authorize?response_type=code&client_id=nobody&redirect_uri=https://x.example/",
            "この要求は完了できません",
            "This request cannot be completed",
        ),
    ],
    ids=["not-found", "unknown-client"],
)
def test_error_page(page: Page, idp_url: str, path: str, japanese: str, english: str) -> None:
    page.goto(idp_url + path)
    expect(page.locator("h1")).to_have_text(japanese)
    axe(page)
    snap(page, "ja")
    page.click("#switch-language")
    expect(page.locator("h1")).to_have_text(english)
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page)
    assert_reflows(page)
    snap(page, "en-zoom")
