"""Readable error pages for people, JSON for programs (the project's rule: every bad input gets
a clear error). Flask's own HTTP errors (404, 405, 413, an ``abort(400)`` in a flow, a crash)
would otherwise be Werkzeug's English-only pages.

A request gets the page when it is a browser's (``text/html`` preferred over JSON) and not to
one of the programs' endpoints; the page is in Japanese or English like every citizen page and
says what a person can do. Everything else gets ``{"error", "error_description"}``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from ..config import Config
from ..oidc.server import ERROR_PAGE
from ..services import services
from ..storage import outages
from ..web.pages import finish, page

log = logging.getLogger("idp.unavailable")

PROGRAM_PATHS = (
    "/token",
    "/par",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/register",
    "/jwks",
    "/.well-known/",
    "/selfinfo/",
)
"""Endpoints called by relying parties' servers: they always get JSON."""
KNOWN = (400, 403, 404, 405, 410, 413, 429, 503)


def for_a_person() -> bool:
    if request.path.startswith(PROGRAM_PATHS):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def render(error: HTTPException) -> Response:
    """The error as a page or as JSON; the status is kept either way."""
    status = error.code or 500
    if not for_a_person():
        body = {"error": _slug(error), "error_description": error.description or error.name}
        response = jsonify(body)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return finish(response)
    kind = status if status in KNOWN else 500
    return page("errorpages/error.html", status, kind=kind)


def oauth_error_page(error) -> Response | None:
    """An authorization error that cannot go back to the client, as a page for a person (None
    for a program: it gets the OAuth JSON). The error code is shown for the service's support."""
    if not for_a_person():
        return None
    return page("errorpages/error.html", error.status_code, kind=400, reference=error.error)


def unavailable(error: Exception) -> Response:
    """PostgreSQL or Redis cannot be reached (``storage.outages``): 503 with ``Retry-After``, and
    one log line instead of a traceback per request. Programs get OAuth's
    ``temporarily_unavailable`` (RFC 6749 §4.1.2.1; RFC 9110 §15.6.4 for 503 and Retry-After);
    people get a page. The IdP recovers by itself: the next request reconnects.
    Anything else of these types is a fault: raised again, for Flask's traceback and 500."""
    dependency = outages.unavailable(error)
    if dependency is None:
        raise error
    rule = request.url_rule.rule if request.url_rule else "?"  # paths may hold capabilities
    log.error("%s unavailable: %s %s: %s", dependency, request.method, rule, outages.reason(error))
    retry_after = str(services().config.timeouts.retry_after)
    if for_a_person():
        response = page("errorpages/error.html", 503, kind=503)
    else:
        body = {
            "error": "temporarily_unavailable",
            "error_description": "the identity provider is briefly unavailable; retry later",
        }
        response = finish(jsonify(body))
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = retry_after
    return response


def _slug(error: HTTPException) -> str:
    return (error.name or "error").lower().replace(" ", "_").replace("'", "")


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001
    app.register_blueprint(Blueprint("errorpages", __name__, template_folder="templates"))
    services(app)[ERROR_PAGE] = oauth_error_page
    app.register_error_handler(HTTPException, render)
    app.register_error_handler(InternalServerError, render)
    for kind in outages.EXCEPTIONS:
        app.register_error_handler(kind, unavailable)
