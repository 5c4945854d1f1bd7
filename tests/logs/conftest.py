"""Log capture as an operator sees it (the IdP's JSON formatter on the root logger), and the
consent suite's card-login world for the audit story."""

from __future__ import annotations

import io
import json
import logging

import pytest

from idp.logs import JsonFormatter
from tests.consent.conftest import (  # noqa: F401 (the story's card-login IdP and browser)
    card_app,
    catalogues,
    consent_page,
    database_url,
    logged_in,
    login_page,
    rp,
    world,
)


class Captured:
    """Everything logged while it is installed, formatted as the IdP formats it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """Every line, parsed: a line that is not one JSON object fails the test here."""
        parsed = [json.loads(line) for line in self.text.splitlines()]
        assert all(isinstance(line, dict) for line in parsed)
        return parsed


@pytest.fixture
def captured():
    """The root logger at INFO into a ``Captured`` (pytest's own capture stays on too)."""
    capture, root = Captured(), logging.getLogger()
    level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.setLevel(level)
