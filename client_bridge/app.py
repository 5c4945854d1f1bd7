"""The bridge's Flask application: checks that run before every route, then the two surfaces.

Order matters and is fixed here: Host (DNS rebinding) → Origin (allow-list; the PIN window only
as a top-level page or its own form, ``pin_page.check_requester``) → rate limit (per origin; the
PIN window's per operation) → route, so a refused request uses up no one's budget. Refusals for a
bad Host or a foreign origin carry no CORS headers. Every answer is ``no-store``: results hold
certificates.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, jsonify, request

from client_bridge import api, errors, guard, pin_page
from client_bridge.broker import Broker
from client_bridge.pin_stdin import stdin_pin_reader
from client_bridge.ratelimit import SlidingWindow
from client_bridge.session import Connector, PcscConnector
from client_bridge.settings import BridgeSettings

MINUTE = 60.0


def create_app(
    settings: BridgeSettings,
    connect: Connector | None = None,
    broker: Broker | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Flask:
    """Build the app; ``connect`` defaults to PC/SC, tests pass an in-process card instead."""
    app = Flask(__name__)
    app.config.update(BRIDGE=settings, MAX_CONTENT_LENGTH=16 * 1024)
    if broker is None:
        reader = stdin_pin_reader() if settings.pin_stdin else None
        broker = Broker(connect or PcscConnector(settings.reader), reader, settings.pin_timeout)
    app.extensions["bridge.broker"] = broker
    app.extensions["bridge.limits"] = {
        "requests": SlidingWindow(settings.requests_per_minute, MINUTE, clock),
        "operations": SlidingWindow(settings.operations_per_minute, MINUTE, clock),
        "page": SlidingWindow(settings.page_requests_per_minute, MINUTE, clock),
    }
    app.before_request(check_request)
    app.after_request(finish_response)
    app.register_error_handler(errors.BridgeError, error_response)
    for code in (404, 405, 413):
        app.register_error_handler(code, http_error_response)
    app.register_blueprint(api.bp)
    app.register_blueprint(pin_page.bp)
    return app


def settings_of(app: Flask) -> BridgeSettings:
    return app.config["BRIDGE"]


def check_request() -> Response | None:
    """Host, then Origin, then the rate limit; a preflight is answered here."""
    settings = settings_of(current_app)
    if not guard.host_allowed(request.headers.get("Host"), settings.port):
        raise errors.ForbiddenHost("Host is not the loopback address and port")
    limits = current_app.extensions["bridge.limits"]
    if request.path.startswith(pin_page.PREFIX):
        pin_page.check_requester()
        return _check_limit(limits["page"], pin_page.bucket())
    origin = request.headers.get("Origin")
    if origin is None or origin not in settings.allowed_origins:
        raise errors.ForbiddenOrigin("Origin missing or not on the allow-list")
    g.cors_origin = origin
    if request.method == "OPTIONS":
        pna = request.headers.get("Access-Control-Request-Private-Network") == "true"
        response = Response(status=204, headers=guard.preflight_headers(origin, pna))
        g.cors_done = True
        return response
    return _check_limit(limits["requests"], origin)


def _check_limit(window: SlidingWindow, key: str) -> None:
    wait = window.hit(key)
    if wait is not None:
        raise errors.RateLimited(wait)


def finish_response(response: Response) -> Response:
    """CORS for an allowed origin (and nobody else); no caching; no sniffing."""
    origin = g.get("cors_origin")
    if origin and not g.get("cors_done"):
        response.headers.update(guard.cors_headers(origin))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def error_response(error: errors.BridgeError) -> tuple[Response, int]:
    response = jsonify(error.to_json())
    if isinstance(error, errors.RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response, error.http_status


def http_error_response(error: Exception) -> tuple[Response, int]:
    code = getattr(error, "code", 400)
    bridge_error = errors.NotFound() if code == 404 else errors.BadRequest(str(error))
    return jsonify(bridge_error.to_json()), code
