"""Self-information reads, counted by category once served; refused reads are not reads."""

# ruff: noqa: F811 - test functions take fixtures imported from the suites they reuse

from __future__ import annotations

import pytest

from idp.oidc.claims import SELFINFO_CATEGORIES, SELFINFO_SCOPES
from tests.metrics.conftest import scrape
from tests.selfinfo.conftest import account, client_id, consent  # noqa: F401 - fixtures
from tests.selfinfo.samples import mint_token

READS = "jpki_idp_selfinfo_reads_total"


@pytest.fixture
def app(metrics_app):
    return metrics_app


def test_each_category_read_is_counted_and_a_refused_one_is_not(app, account, client_id, consent):
    access_token, _ = mint_token(
        app,
        account_id=account,
        client_id=client_id,
        consent_id=consent,
        scope=" ".join(["openid", *SELFINFO_SCOPES]),
    )
    http = app.test_client()
    before = scrape(app)
    for category in SELFINFO_CATEGORIES:
        response = http.get(
            f"/selfinfo/v1/{category}", headers={"Authorization": f"Bearer {access_token}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    assert http.get(f"/selfinfo/v1/{SELFINFO_CATEGORIES[0]}").status_code == 401
    assert http.get("/selfinfo/v1/no-such-category").status_code == 404
    after = scrape(app)
    for category in SELFINFO_CATEGORIES:
        assert after[READS, {"category": category}] - before[READS, {"category": category}] == 1
    assert {labels["category"] for labels in after.labelled(READS)} <= set(SELFINFO_CATEGORIES)
