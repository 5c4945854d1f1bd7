"""The consent page with per-claim purposes in Debian's Chromium: axe-core clean, every control
by keyboard, reflowing at 200% zoom (even a 300-character purpose without spaces), in Japanese
and English.

No card reader is needed: the card login runs in-process (tests/consent/conftest.py's fixtures),
and the browser is served the same browser session's pages through the Flask test client, under
their real headers (CSP included)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.consent.conftest import consent_page, logged_in, rp  # noqa: F401 (no card reader)
from tests.consent.test_claim_purposes import asked
from tests.e2e.browser import assert_keyboard_reachable, assert_reflows, axe, snap, zoom
from tests.login.conftest import (  # noqa: F401 (the in-process card login's world)
    card_app,
    catalogues,
    database_url,
    login_page,
    world,
)

ORIGIN = "http://idp.test"
LONG = "x" * 300


def serve(page, http) -> None:
    """Answer the browser's GETs to ``ORIGIN`` from the test client holding the login."""

    def answer(route) -> None:
        if route.request.method != "GET":
            route.abort()
            return
        parts = urlsplit(route.request.url)
        response = http.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        route.fulfill(status=response.status_code, headers=headers, body=response.get_data())

    page.route(ORIGIN + "/**", answer)


@pytest.mark.parametrize(
    ("lang", "label"), [("ja", "利用目的："), ("en", "Purpose: ")], ids=["ja", "en"]
)
def test_the_page_with_claim_purposes_passes_axe_keyboard_and_zoom(consent_page, page, lang, label):  # noqa: F811
    consent = consent_page(claims=asked(given_name="口座開設の本人確認のため", birthdate=LONG))
    serve(page, consent.http)
    page.goto(f"{ORIGIN}{consent.path}?lang={lang}")
    purposes = page.locator(".item-purpose")
    assert purposes.count() == 2
    assert purposes.first.inner_text() == f"{label}口座開設の本人確認のため"
    assert purposes.first.is_visible()
    snap(page, f"consent-claim-purposes-{lang}")
    axe(page)
    assert_keyboard_reachable(page)
    zoom(page, 200)
    assert_reflows(page)
    snap(page, f"consent-claim-purposes-{lang}-zoom-200")
    zoom(page, 100)
