"""The PIN window against other web pages, through ``jpki-bridge run``'s real HTTP server.

Any page the citizen visits can send requests to the bridge: images, fetches, forms, frames and
navigations. What it sends is refused before it uses up any budget, unless it is a top-level
navigation; and each operation's window has its own budget, which a page that does not know the
operation's id cannot touch. So no page can lock the citizen out of the PIN window.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.bridge.bridge_process import BridgeProcess
from tests.bridge.conftest import AUTH_PIN, READER, InsertedCard

EVIL = "https://evil.example"
BUDGET = 60
"""``BridgeSettings.page_requests_per_minute``."""
NAVIGATION = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
              "Sec-Fetch-Dest": "document"}  # fmt: skip
"""What Chromium sends when the login page sets the PIN window's location."""
IMAGE = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
SUBRESOURCES = [
    (IMAGE, None),  # <img src>
    ({"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, None),  # <script src>
    ({"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"}, None),  # fetch(…, no-cors)
    ({"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, None),  # <iframe src>
    ({"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, EVIL),  # fetch()
    ({}, EVIL),  # fetch() in a browser without Fetch Metadata
]


@pytest.fixture
def cardless() -> Iterator[BridgeProcess]:
    """A bridge whose reader does not exist: every operation fails at once, its id stays known."""
    process = BridgeProcess.start("--reader", "No Such Reader 00 00", pin_stdin=False)
    try:
        yield process
    finally:
        process.stop()


def window(bridge: BridgeProcess, op_id: str) -> int:
    """The legitimate PIN window opening: a top-level navigation, no Origin."""
    return bridge.call("GET", f"/pin/{op_id}", origin=None, headers=NAVIGATION).status


def failed_operation(bridge: BridgeProcess) -> str:
    op_id = bridge.start_operation().body["id"]
    assert bridge.wait(op_id, "starting")["status"] == "failed"
    return op_id


@pytest.mark.parametrize(("headers", "origin"), SUBRESOURCES)
def test_what_a_page_embeds_or_fetches_is_refused_and_spends_nothing(
    cardless: BridgeProcess, headers, origin
) -> None:
    op_id = failed_operation(cardless)
    for _ in range(BUDGET + 5):
        refused = cardless.call("GET", f"/pin/{op_id}", origin=origin, headers=headers)
        assert refused.status == 403
        assert refused.headers["Content-Type"].startswith("text/html")  # a page for a person
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert window(cardless, op_id) == 200


def test_a_form_posted_by_another_page_is_refused_and_spends_nothing(
    cardless: BridgeProcess,
) -> None:
    op_id = failed_operation(cardless)
    for origin in [EVIL] * (BUDGET + 5) + ["null"]:
        posted = cardless.post_form(f"/pin/{op_id}", "pin=1234&token=x", origin=origin)
        assert posted.status == 403
    assert window(cardless, op_id) == 200


def test_guessed_ids_share_a_budget_of_their_own(cardless: BridgeProcess) -> None:
    """A flood of navigations to ids the page made up ends in 429 for those ids only."""
    statuses = {window(cardless, secrets.token_urlsafe(16)) for _ in range(BUDGET)}
    assert statuses == {404}
    assert window(cardless, secrets.token_urlsafe(16)) == 429
    op_id = failed_operation(cardless)
    assert window(cardless, op_id) == 200


def test_each_operation_has_its_own_budget(cardless: BridgeProcess) -> None:
    first = failed_operation(cardless)
    assert {window(cardless, first) for _ in range(BUDGET)} == {200}
    assert window(cardless, first) == 429
    second = failed_operation(cardless)
    assert window(cardless, second) == 200


@pytest.mark.pcsc
def test_a_flooding_page_cannot_keep_the_citizen_from_typing_the_pin(
    reader_lock: None, inserted: InsertedCard
) -> None:
    """The attack the bridge once lost: 60 requests a minute from any page locked the window."""
    bridge = BridgeProcess.start("--reader", READER, pin_stdin=False)
    try:
        op = bridge.wait(bridge.start_operation().body["id"], "starting")
        assert op["status"] == "pin_required"
        path = f"/pin/{op['id']}"
        for _ in range(BUDGET + 5):
            bridge.call("GET", f"/pin/{secrets.token_urlsafe(16)}", origin=None, headers=NAVIGATION)
            bridge.call("GET", path, origin=None, headers=IMAGE)
            bridge.post_form(path, "action=cancel&token=x", origin=EVIL)
        page = bridge.call("GET", path, origin=None, headers=NAVIGATION)
        assert page.status == 200, page.body
        token = re.search(r'name="token" value="([^"]+)"', page.body.decode()).group(1)
        own = f"http://127.0.0.1:{bridge.port}"
        form = urlencode({"token": token, "pin": AUTH_PIN})
        assert bridge.post_form(path, form, origin=own).status == 303
        assert bridge.wait(op["id"], "pin_required")["status"] == "done"
    finally:
        bridge.stop()
