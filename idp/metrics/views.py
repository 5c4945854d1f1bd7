"""``GET /metrics``: the Prometheus text format, for the scraper holding ``metrics.token``.

Fail closed: without a configured token the route does not exist (404); a missing or wrong
bearer gets 401 with ``WWW-Authenticate: Bearer`` and nothing else. The token is compared in
constant time, as the registration endpoint compares its own. Nothing here is ever cached.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import Metric

from ..services import Service, services

bp = Blueprint("metrics", __name__)


class Exposition:
    """Every source's metrics in one scrape (what ``generate_latest`` needs: ``collect``)."""

    def __init__(self, sources: Iterable) -> None:
        self.sources = tuple(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def authorised(header: str, expected: str) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time (bytes: any header)."""
    scheme, _, token = header.partition(" ")
    given = token.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and hmac.compare_digest(given, expected.encode("utf-8"))


@bp.get("/metrics")
def metrics() -> Response:
    expected = services().config.metrics.token
    if not authorised(request.headers.get("Authorization", ""), expected):
        response = Response("a valid bearer token is required\n", 401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    else:
        body = generate_latest(services()[EXPOSITION])
        response = Response(body, 200, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


EXPOSITION: Service[Exposition | None] = Service("metrics exposition", default=lambda: None)
"""What ``/metrics`` exposes; None without ``metrics.token``."""
