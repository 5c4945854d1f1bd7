"""The transmitter's HTTP surface: its metadata, stream management and the poll endpoint.

Every endpoint but the metadata takes an access token of the ``ssf`` scope (``grant``), Bearer or
DPoP-bound as the client's tokens are; the client it was issued to is the receiver, and sees and
changes its own stream only.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint, Response, jsonify, request

from ..oidc.clients import serving_client
from ..oidc.dpop import InvalidDPoPProofError
from ..oidc.endpoints import endpoint_url
from ..oidc.server import SERVER
from ..oidc.userinfo import authenticate
from ..services import services
from . import events, management
from .grant import SCOPE
from .management import StreamError
from .poll import poll
from .streams import POLL, PUSH, wake_courier

bp = Blueprint("ssf", __name__)


@bp.get("/.well-known/ssf-configuration")
def configuration_metadata():
    """SSF 1.0 §7: where everything is, and how to be authorised (OAuth 2.0, §7.1.1)."""
    config = services()[SERVER].services.config
    response = jsonify(
        {
            "spec_version": "1_0",
            "issuer": config.issuer,
            "jwks_uri": _url("oidc.jwks"),
            "delivery_methods_supported": [PUSH, POLL],
            "configuration_endpoint": _url("ssf.stream"),
            "status_endpoint": _url("ssf.status"),
            "add_subject_endpoint": _url("ssf.add_subject"),
            "remove_subject_endpoint": _url("ssf.remove_subject"),
            "verification_endpoint": _url("ssf.verification"),
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
            "default_subjects": "ALL",
            "events_supported": events.supported(config.issuer),
        }
    )
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response


@bp.route("/ssf/stream", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def stream():
    def handle(client_id: str, config):
        if request.method == "POST":
            created = management.create(client_id, _body(), config)
            return 201, _shown(created, config)
        if request.method == "GET":
            if "stream_id" not in request.args:  # §8.1.1.2: the list of the client's streams
                found = management.client_stream(client_id)
                return 200, [_shown(found, config)] if found else []
            return 200, _shown(management.own_stream(client_id, request.args["stream_id"]), config)
        if request.method == "DELETE":
            management.remove(management.own_stream(client_id, request.args.get("stream_id")))
            return 204, None
        body = _body()
        found = management.own_stream(client_id, body.get("stream_id"))
        updated = management.update(found, body, config, replace=request.method == "PUT")
        return 200, _shown(updated, config)

    return _managed("ssf.stream", handle)


@bp.route("/ssf/status", methods=["GET", "POST"])
def status():
    def handle(client_id: str, _config):
        if request.method == "GET":
            found = management.own_stream(client_id, request.args.get("stream_id"))
            return 200, management.status_of(found)
        body = _body()
        found = management.own_stream(client_id, body.get("stream_id"))
        changed = management.set_status(found, body)
        if changed["status"] == "enabled":
            wake_courier(services())
        return 200, changed

    return _managed("ssf.status", handle)


@bp.post("/ssf/subjects:add")
def add_subject():
    def handle(client_id: str, config):
        body = _body()
        found = management.own_stream(client_id, body.get("stream_id"))
        management.add_subject(found, management.subject_of(body, config.issuer))
        return 200, None

    return _managed("ssf.add_subject", handle)


@bp.post("/ssf/subjects:remove")
def remove_subject():
    def handle(client_id: str, config):
        body = _body()
        found = management.own_stream(client_id, body.get("stream_id"))
        management.remove_subject(found, management.subject_of(body, config.issuer))
        return 204, None

    return _managed("ssf.remove_subject", handle)


@bp.post("/ssf/verify")
def verification():
    def handle(client_id: str, config):
        body = _body()
        found = management.own_stream(client_id, body.get("stream_id"))
        management.verify(found, body, config.issuer)
        wake_courier(services())
        return 204, None

    return _managed("ssf.verification", handle)


@bp.post("/ssf/poll/<stream_id>")
def poll_events(stream_id: str):
    """RFC 8936 §2.4; its errors are ``{"err", "description"}`` (§2.4.4)."""

    def handle(client_id: str, _config):
        found = management.own_stream(client_id, stream_id)
        if found.delivery_method != POLL:
            raise management.bad("this stream is delivered by push, not poll")
        return 200, poll(services()[SERVER].services, found, _body())

    return _managed("ssf.poll_events", handle, stream_id=stream_id, poll_errors=True)


def _managed(endpoint: str, handle, poll_errors: bool = False, **values):
    """Authenticate the receiver, run ``handle(client_id, config)``, answer with no-store."""
    shared = services()[SERVER].services
    url = endpoint_url(endpoint, **values)
    try:
        grant = authenticate(shared, request.headers, request.method, url)
    except (InvalidTokenError, InvalidDPoPProofError) as error:
        return _refused(401, "invalid_token", error.description or "invalid access token")
    if SCOPE not in (scope_to_list(grant["scope"]) or []) or grant.get("account_id"):
        return _refused(403, "insufficient_scope", "an access token of the scope ssf is needed")
    if serving_client(grant["client_id"]) is None:
        return _refused(401, "invalid_token", "the client is no longer registered")
    try:
        code, body = handle(grant["client_id"], shared.config)
    except StreamError as error:
        if poll_errors:
            found = {"err": error.error, "description": error.description}
        else:
            found = {"error": error.error, "error_description": error.description}
        response = jsonify(found)
        response.status_code = error.status
    else:
        response = jsonify(body) if body is not None else Response(status=code)
        response.status_code = code
    response.cache_control.no_store = True
    return response


def _refused(code: int, error: str, description: str):
    """RFC 6750 §3: the error in ``WWW-Authenticate``, in the scheme the request used."""
    response = jsonify(error=error, error_description=description)
    response.status_code = code
    scheme = (
        "DPoP" if request.headers.get("Authorization", "").lower().startswith("dpop") else "Bearer"
    )
    text = "".join(c for c in description if " " <= c <= "~" and c not in '"\\')
    response.headers["WWW-Authenticate"] = (
        f'{scheme} error="{error}", error_description="{text}", scope="{SCOPE}"'
    )
    response.cache_control.no_store = True
    return response


def _body() -> dict:
    found = request.get_json(force=True, silent=True)
    if not isinstance(found, dict):
        raise management.bad("the body must be a JSON object")
    return found


def _shown(found, config) -> dict:
    return management.configuration(
        found, config, lambda stream_id: _url("ssf.poll_events", stream_id=stream_id)
    )


def _url(name: str, **values) -> str:
    return endpoint_url(name, **values)
