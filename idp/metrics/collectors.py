"""Gauges computed when ``/metrics`` is scraped, from state every worker shares.

The CRL indexes (one folder per machine) and the signing keys (the database) are the same for
every gunicorn worker, so the worker that answers the scrape reads them itself: no worker has
to publish a value, and no multiprocess mode has to choose between disagreeing ones.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from ..jpki.crl import CrlStatusSource
from ..jpki.settings import CertificateType, JpkiSettings
from ..storage.models import SigningKey
from .registry import PREFIX


class ScrapeTimeGauges:
    """A prometheus_client collector; ``collect`` runs inside the scrape's app context.

    ``jwks`` returns the JWKS the app serves (its key ring's, handed in when the app is built):
    the published keys are counted from it, as a client sees them."""

    def __init__(self, settings: JpkiSettings, jwks: Callable[[], Mapping]) -> None:
        self.crl = {kind: CrlStatusSource(settings.crl_index_dir, kind) for kind in CertificateType}
        self.jwks = jwks

    def collect(self) -> Iterator[Metric]:
        yield self._crl_next_update()
        yield from self._signing_keys(time.time())

    def _crl_next_update(self) -> Metric:
        gauge = GaugeMetricFamily(
            PREFIX + "crl_next_update_timestamp_seconds",
            "nextUpdate of the full CRL held, per certificate type (Unix time); absent when no "
            "CRL is held. Past it, CRL lookups refuse as crl_unavailable.",
            labels=("type",),
        )
        for kind, source in self.crl.items():
            next_update = source.next_update()
            if next_update is not None:
                gauge.add_metric((str(kind),), next_update.timestamp())
        return gauge

    def _signing_keys(self, now: float) -> Iterator[Metric]:
        published = GaugeMetricFamily(
            PREFIX + "signing_keys_published",
            "Keys in the JWKS this process serves (next, current, retired), per algorithm.",
            labels=("alg",),
        )
        # First: reading the ring creates the keys on a first start, as serving JWKS would.
        tally = Tally(str(key.get("alg", "")) for key in self.jwks()["keys"])
        for alg, count in sorted(tally.items()):
            published.add_metric((alg,), count)
        yield published
        age = GaugeMetricFamily(
            PREFIX + "signing_key_age_seconds",
            "Seconds since the current signing key of each algorithm started signing (the last "
            "`idp keys rotate`; its creation time if it never rotated).",
            labels=("alg",),
        )
        for row in SigningKey.query.filter_by(state="current").all():
            age.add_metric((row.alg,), now - (row.activated_at or row.created_at))
        yield age
