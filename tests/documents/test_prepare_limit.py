"""The limit on ``prepare`` (each one costs pyHanko's work on the PDF and a database write): at
most ``PREPARE_LIMIT`` per document per ``PREPARE_WINDOW`` (``limits.prepares_per_document``), on
the in-process store and on Redis;
a refused call changes nothing and the page's script has a readable message for it."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from idp.config import LimitsConfig, parse_rate_limit
from idp.services import services
from idp.storage.ephemeral import EPHEMERAL, MemoryStore
from idp.storage.ratelimits import RATE_LIMITS
from tests.conftest import REDIS_URL
from tests.documents.conftest import (
    REDIRECT,
    Bank,
    World,
    card_result,
    open_review,
    sample_pdf,
    unb64url,
)
from tests.storage.test_ephemeral import FakeClock

_PREPARES = parse_rate_limit(LimitsConfig().prepares_per_document)
PREPARE_LIMIT, PREPARE_WINDOW = _PREPARES.amount, _PREPARES.get_expiry()
JA = "この文書への署名の試行が多すぎます。数分待ってから、もう一度お試しください。"
EN = "Too many signing attempts for this document. Wait a few minutes and try again."


@pytest.fixture(params=["memory", "redis"])
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def prefix(store_kind: str, request) -> Iterator[str]:
    """This test's own Redis key prefix, emptied afterwards."""
    prefix = f"test-prepare-{secrets.token_hex(6)}:"
    if store_kind == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        yield prefix
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)
        return
    yield prefix


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(world: World, database_url: str, tmp_path: Path, store_kind: str, prefix: str, clock):
    """The documents IdP on the in-process store (with the test's clock) or on Redis."""
    from idp.config import EphemeralConfig
    from tests.conftest import drop_schema, idp_test_config, make_app
    from tests.login.conftest import jpki_settings

    ephemeral = EphemeralConfig(redis_url=REDIS_URL if store_kind == "redis" else "",
                                key_prefix=prefix)  # fmt: skip
    config = idp_test_config(
        database_url,
        jpki=jpki_settings(world.state, tmp_path),
        ephemeral=ephemeral,
    )
    application = make_app(config, tmp_path / "instance", cardless_login=True)
    if store_kind == "memory":
        services(application)[EPHEMERAL] = MemoryStore(clock)
    yield application
    drop_schema(application)


def _pdf_document(bank: Bank, text: str = "Loan contract") -> str:
    pdf = base64.b64encode(sample_pdf(text)).decode()
    return bank.document(digest=None, pdf=pdf)["document_id"]


def _prepared(app, document_id: str) -> tuple[str | None, bytes | None, bytes | None]:
    from idp.storage.db import db
    from idp.storage.documents import DocumentRequest

    with app.app_context():
        document = db.session.get(DocumentRequest, document_id)
        return document.prepared_digest, document.prepared_attrs, document.prepared_pdf


def _use_up(page) -> bytes:
    """``PREPARE_LIMIT`` prepares, each answered; the last digest to sign."""
    digests = [page.to_sign() for _ in range(PREPARE_LIMIT)]
    return digests[-1]


def _assert_refused(response, retry_after: int | None = None) -> None:
    """429 with the seconds left in the window (``retry_after`` when the test knows them)."""
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["error"] == "rate_limited"
    waited = response.json["retry_after"]
    assert 0 < waited <= PREPARE_WINDOW
    if retry_after is not None:
        assert waited == retry_after
    assert response.headers["Retry-After"] == str(waited)
    assert response.headers["Cache-Control"].startswith("no-store")


def test_the_prepare_over_the_limit_is_refused_and_changes_nothing(app, bank, world):
    document_id = _pdf_document(bank)
    page = open_review(bank.rp.http, document_id)
    last = _use_up(page)
    before = _prepared(app, document_id)
    assert before[0] is not None
    assert unb64url(before[0]) == last

    _assert_refused(page.prepare())
    _assert_refused(page.prepare())
    assert _prepared(app, document_id) == before

    # The last prepared attempt is still the one the card may sign.
    signed = page.post_result(card_result(world.good, last))
    assert signed.status_code == 303
    assert signed.headers["Location"].startswith(REDIRECT + "?")


def test_the_checks_before_the_limit_still_come_first(bank):
    page = open_review(bank.rp.http, _pdf_document(bank))
    _use_up(page)
    assert page.prepare(csrf="forged").status_code == 403
    assert page.prepare(csrf="forged").json == {"error": "csrf"}
    assert page.decline().status_code == 303  # declining is never limited
    assert page.prepare().json == {"error": "gone"}


def test_the_limit_is_per_document(app, bank):
    first = open_review(bank.rp.http, _pdf_document(bank, "First contract"))
    _use_up(first)
    _assert_refused(first.prepare())
    other_id = _pdf_document(bank, "Second contract")
    other = open_review(bank.rp.http, other_id)
    digest = other.to_sign()
    assert _prepared(app, other_id)[0] is not None
    assert unb64url(_prepared(app, other_id)[0]) == digest


def test_after_the_window_prepares_work_again(app, bank, store_kind, prefix, clock):
    document_id = _pdf_document(bank)
    page = open_review(bank.rp.http, document_id)
    _use_up(page)
    _assert_refused(page.prepare())
    if store_kind == "redis":
        # Redis keeps the window from the first prepare; refused calls do not extend it (its
        # expiry itself is the store contract's, tests/storage/test_ephemeral.py).
        key = prefix + services(app)[RATE_LIMITS].key("prepares_per_document", document_id)
        assert 0 < redis.Redis.from_url(REDIS_URL).pttl(key) <= PREPARE_WINDOW * 1000
        return
    _assert_refused(page.prepare(), retry_after=PREPARE_WINDOW)
    clock.now += PREPARE_WINDOW - 1
    _assert_refused(page.prepare(), retry_after=1)  # refused calls do not move the window's end
    clock.now += 1
    digest = page.to_sign()
    assert unb64url(_prepared(app, document_id)[0]) == digest


@pytest.mark.parametrize("store_kind", ["redis"])  # the in-process store cannot fail this way
def test_a_failing_store_refuses_the_prepare_and_writes_nothing(app, bank, prefix):
    """Redis answering an error on the count: the IdP's error page, no prepare (fail closed)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    document_id = _pdf_document(bank)
    page = open_review(bank.rp.http, document_id)
    key = services(app)[RATE_LIMITS].key("prepares_per_document", document_id)
    redis.Redis.from_url(REDIS_URL).set(prefix + key, b"x")
    response = page.prepare()
    assert response.status_code == 500
    assert _prepared(app, document_id) == (None, None, None)


@pytest.mark.parametrize(("lang", "text"), [("ja", JA), ("en", EN)])
def test_the_page_gives_its_script_the_message(bank, lang, text):
    document_id = bank.document()["document_id"]
    html = bank.rp.http.get(f"/documents/{document_id}/review?lang={lang}").get_data(as_text=True)
    assert f'data-rate-limited="{text}"' in html
