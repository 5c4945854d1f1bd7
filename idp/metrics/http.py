"""Per-request metrics: one duration observation and one count per request, cheaply.

A WSGI middleware times the whole app call (session, hooks, view, error pages) and reads the
final status from ``start_response``. The endpoint label is the Flask endpoint name of the
matched URL rule (``oidc.token``) or ``unmatched``, never the path, which carries transaction
and document ids. The middleware reads the rule from the request object itself, which the app's
request class leaves in the WSGI environ: no hook and no context-local look-up per request
(each ``flask.request`` access costs about a microsecond; bench/flow_wsgi measured the rest).
The labelled children are cached per (endpoint, status class).
"""

from __future__ import annotations

from time import perf_counter

from flask import Flask

from .registry import http_request_duration, http_requests

ENVIRON_KEY = "idp.metrics.request"
UNMATCHED = "unmatched"
_children: dict[tuple[str, str], tuple] = {}


def _observe(endpoint: str, status: str, seconds: float) -> None:
    children = _children.get((endpoint, status))
    if children is None:
        children = _children[(endpoint, status)] = (
            http_request_duration.labels(endpoint),
            http_requests.labels(endpoint, status),
        )
    children[0].observe(seconds)
    children[1].inc()


class _Timed:
    """Wraps ``app.wsgi_app``; an exception that escapes the app counts as a 5xx."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = perf_counter()
        status = ["5xx"]

        def capture(line: str, headers, exc_info=None):
            status[0] = line[0] + "xx"
            return start_response(line, headers, exc_info)

        try:
            return self.wsgi_app(environ, capture)
        finally:
            request = environ.pop(ENVIRON_KEY, None)  # and the reference cycle goes with it
            rule = request.url_rule if request is not None else None
            endpoint = rule.endpoint if rule is not None else UNMATCHED
            _observe(endpoint, status[0], perf_counter() - started)


def instrument(app: Flask) -> None:
    """Count and time every request of ``app``."""

    class Request(app.request_class):
        """The app's request class, left in the environ for the middleware to read."""

        def __init__(self, environ, *args, **kwargs) -> None:
            super().__init__(environ, *args, **kwargs)
            environ[ENVIRON_KEY] = self

    app.request_class = Request
    app.wsgi_app = _Timed(app.wsgi_app)
