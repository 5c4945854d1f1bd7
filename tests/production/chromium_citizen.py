"""A citizen in Debian's Chromium (Playwright), run as its own process by test_chromium.py: a
Playwright driver in the pytest process would clash with the one tests/e2e keeps for the session.

Line protocol. stdin: one JSON object {issuer, authorization_url, pin}; it
prints one JSON line {callback, responses} after the login, then reads an ID token line and
prints {logged_out, responses} after logging out. ``responses``: every response of the
issuer's origin the browser received, with its headers, for the header checks.

Chromium trusts the topology's test CA as Chromium on Linux trusts any local CA: through the NSS
database in ``$HOME/.pki/nssdb``, which test_chromium.py makes in a temporary HOME (the CA added
as a trusted SSL CA with NSS's ``certutil``) and runs this process with. Certificates are checked
as usual; no error is ignored. The card step is the real one: the login page calls ``jpki-bridge
run`` (started by the test on the topology's bridge port), the PIN is typed into the bridge's
window, the virtual card in "Virtual PCD 00 01" signs through pcscd.
"""

from __future__ import annotations

import contextlib
import json
import sys
from urllib.parse import urlencode

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.production.topology import LOGOUT_REDIRECT_URI, REDIRECT_URI


def main() -> None:
    job = json.loads(sys.stdin.readline())
    issuer = job["issuer"]
    responses: list[dict] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        context = browser.new_context(locale="ja-JP")
        context.set_default_timeout(20_000)
        page = context.new_page()

        def seen(response) -> None:
            if response.url.startswith(issuer):
                responses.append(
                    {
                        "url": response.url,
                        "method": response.request.method,
                        "status": response.status,
                        "headers": response.headers_array(),
                    }
                )

        page.on("response", seen)
        landed: list[str] = []

        def bank(route) -> None:
            landed.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<p>bank</p>")

        page.route("https://bank.example/**", bank)
        page.goto(job["authorization_url"])
        # The real bridge and the virtual card: the login button, the PIN in the bridge's window.
        button = page.locator("#login-button")
        button.wait_for(state="visible")
        with page.expect_popup() as opened:
            button.click()
        pin_page = opened.value
        pin_page.locator("#pin").wait_for(state="visible")
        pin_page.keyboard.type(job["pin"])
        pin_page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/consent/" in url or url.startswith(REDIRECT_URI))
        if "/consent/" in page.url:  # the first login of this card at the bank
            page.click("#approve-button")
            page.wait_for_url(REDIRECT_URI + "**")
        print(json.dumps({"callback": landed[-1], "responses": responses}), flush=True)
        responses.clear()

        id_token = sys.stdin.readline().strip()
        query = urlencode(
            {"id_token_hint": id_token, "post_logout_redirect_uri": LOGOUT_REDIRECT_URI}
        )
        # Playwright's route does not see a redirect's next hop, so the bank's address is taken
        # from the IdP's redirect itself; the browser then fails to reach bank.example.
        to_logout = page.expect_response(lambda r: r.url.startswith(issuer + "/logout"))
        with to_logout as answer, contextlib.suppress(PlaywrightError):
            page.goto(issuer + "/logout?" + query)
        landed.append(answer.value.headers.get("location", f"HTTP {answer.value.status}"))
        cookies = context.cookies(issuer)
        print(
            json.dumps({"logged_out": landed[-1], "responses": responses, "cookies": cookies}),
            flush=True,
        )
        browser.close()


if __name__ == "__main__":
    main()
