"""Prometheus metrics for operators (docs/operators.md §9): ``init_app`` and the counters.

Counting points elsewhere are one line each (``metrics.card_logins.labels("ocsp").inc()``).
This package imports nothing above it (only storage, config and the JPKI core's types), so any
feature may import it. ``idp.jpki`` never does: its OCSP service and CRL updater take an
observer as an argument, and the packages that build them for an app pass a
``RevocationMetrics`` (``idp.metrics.observers``) of that app's own. What the scrape-time gauges
read from higher up (the published signing keys) is handed to ``init_app``.

``/metrics`` and the per-request HTTP metrics exist only when ``metrics.token`` is set. The
other counters always count (a few increments per login), so a token added later shows totals
since the process started, as Prometheus expects of counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask

from ..config import Config, ConfigError
from ..services import services
from .registry import (
    card_login_refusals,
    card_logins,
    card_step,
    consent_approved,
    consent_decisions,
    consent_refusals,
    document_refusals,
    documents,
    selfinfo_reads,
    token_errors,
    token_response,
    tokens_issued,
)

__all__ = [
    "card_login_refusals",
    "card_logins",
    "card_step",
    "consent_approved",
    "consent_decisions",
    "consent_refusals",
    "document_refusals",
    "documents",
    "init_app",
    "selfinfo_reads",
    "token_errors",
    "token_response",
    "tokens_issued",
]


def init_app(app: Flask, config: Config, jwks: Callable[[], Mapping]) -> None:
    """With ``metrics.token``, serve ``/metrics`` and time requests. ``jwks`` gives the JWKS
    the app publishes (the key ring's), for the signing-key gauges."""
    from . import http
    from .collectors import ScrapeTimeGauges
    from .views import EXPOSITION, Exposition, bp

    counted = _counted()  # first: a missing multiprocess directory stops the start-up
    if not config.metrics.token:
        return
    services(app)[EXPOSITION] = Exposition((counted, ScrapeTimeGauges(config.jpki, jwks)))
    app.register_blueprint(bp)
    http.instrument(app)


def _counted():
    """This process's registry, or, in multiprocess mode, every worker's files summed."""
    from prometheus_client import CollectorRegistry, values
    from prometheus_client.multiprocess import MultiProcessCollector

    from .registry import REGISTRY

    if values.ValueClass is values.MutexValue:  # PROMETHEUS_MULTIPROC_DIR was not set
        return REGISTRY
    merged = CollectorRegistry(auto_describe=False)
    try:
        MultiProcessCollector(merged)
    except ValueError as error:
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: {error}") from None
    return merged
