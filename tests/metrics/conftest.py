"""Metrics suites: an IdP with ``metrics.token`` set, and scraping ``/metrics`` as Prometheus does.

Counters are process-wide (the registry lives as long as the test process), so tests compare a
scrape before and after what they do, never absolute values.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-" + "m" * 40
"""The scraper's bearer credential in these suites."""
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Samples(Mapping):
    """One scrape's samples: ``samples["jpki_idp_card_logins_total", {"revocation": "ocsp"}]``
    (0 for a sample not exposed, as Prometheus treats an absent counter)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = list(text_string_to_metric_families(text))
        self.values = {
            (s.name, frozenset(s.labels.items())): s.value for f in self.families for s in f.samples
        }

    def __getitem__(self, key) -> float:
        name, labels = key if isinstance(key, tuple) else (key, {})
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def labelled(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample called ``name``."""
        return [dict(labels) for sample, labels in self.values if sample == name]


def scrape(app) -> Samples:
    response = app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Samples(response.get_data(as_text=True))


def with_metrics(config):
    """``config`` with the scraper's token set."""
    import dataclasses

    from idp.config import MetricsConfig

    return dataclasses.replace(config, metrics=MetricsConfig(token=TOKEN))


@pytest.fixture
def metrics_app(database_url, tmp_path):
    """A testing IdP (test authenticator) whose /metrics takes ``TOKEN``, on both databases."""
    from idp.jpki.settings import JpkiSettings
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(
        database_url,
        jpki=JpkiSettings(crl_index_dir=tmp_path / "crl-index"),
    )
    application = make_app(with_metrics(config), tmp_path / "instance", cardless_login=True)
    yield application
    drop_schema(application)


@pytest.fixture
def card_app(world, database_url, tmp_path):
    """The card suites' IdP (sandbox PKI, live OCSP) with metrics: ``world`` and
    ``database_url`` are those of the suite the test module imports them from."""
    from tests.conftest import drop_schema, idp_test_config, make_app
    from tests.login.conftest import jpki_settings

    config = idp_test_config(database_url, jpki=jpki_settings(world.state, tmp_path))
    application = make_app(with_metrics(config), tmp_path / "instance")
    yield application
    drop_schema(application)
