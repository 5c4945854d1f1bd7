"""Documents signed, declined and refused; the signing certificate's fresh OCSP request is
counted without a cache look-up (it never uses the cache)."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

import pytest

from tests.documents.conftest import (  # noqa: F401 - fixtures of the documents' world
    bank,
    card_result,
    catalogues,
    jpki_settings,
    open_review,
    world,
)
from tests.metrics.conftest import scrape, with_metrics

DOCUMENTS = "jpki_idp_documents_total"
REFUSALS = "jpki_idp_document_refusals_total"
OCSP = "jpki_idp_ocsp_requests_total"
LOOKUPS = "jpki_idp_ocsp_cache_lookups_total"


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path}/idp.sqlite3"


@pytest.fixture
def app(world, database_url, tmp_path):  # the documents suite's, with metrics
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(
        database_url,
        jpki=jpki_settings(world.state, tmp_path),
    )
    application = make_app(with_metrics(config), tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


def _delta(before, after, name: str, **labels) -> float:
    return after[name, labels] - before[name, labels]


def test_signed_declined_and_refused_documents_are_counted(app, bank, world):
    before = scrape(app)
    signed = open_review(bank.rp.http, bank.document()["document_id"])
    assert signed.sign(world.good).status_code == 303
    declined = open_review(bank.rp.http, bank.document()["document_id"])
    assert declined.decline().status_code == 303
    refused = open_review(bank.rp.http, bank.document()["document_id"])
    result = card_result(world.revoked, refused.to_sign())
    assert refused.post_result(result).status_code == 403
    after = scrape(app)
    assert _delta(before, after, DOCUMENTS, outcome="signed") == 1
    assert _delta(before, after, DOCUMENTS, outcome="declined") == 1
    assert _delta(before, after, REFUSALS, reason="revoked") == 1
    assert _delta(before, after, OCSP, type="sign", outcome="good") == 1
    assert _delta(before, after, OCSP, type="sign", outcome="revoked") == 1
    for result in ("hit", "miss"):
        assert _delta(before, after, LOOKUPS, type="sign", result=result) == 0
