"""Readable error pages for people, JSON for programs (the project's rule: every bad input gets
a clear error). Flask's own HTTP errors (404, 405, 413, an ``abort(400)`` in a flow, a crash)
would otherwise be Werkzeug's English-only pages.

A request gets the page when it is a browser's (``text/html`` preferred over JSON) and not to
one of the programs' endpoints; the page is in Japanese or English like every citizen page and
says what a person can do. Everything else gets ``{"error", "error_description"}``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from ..config import Config
from ..login.pages import finish, page

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
KNOWN = (400, 403, 404, 405, 410, 413, 429)


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


def _slug(error: HTTPException) -> str:
    return (error.name or "error").lower().replace(" ", "_").replace("'", "")


def init_app(app: Flask, config: Config) -> None:  # noqa: ARG001
    app.register_blueprint(Blueprint("errorpages", __name__, template_folder="templates"))
    app.extensions["idp.error_page"] = oauth_error_page
    app.register_error_handler(HTTPException, render)
    app.register_error_handler(InternalServerError, render)
