"""The provider's HTTP surface: one blueprint, each view a thin call into Authlib or our modules."""

from __future__ import annotations

import hmac
import logging
import secrets

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Blueprint, g, jsonify, request, session

from .. import metrics
from ..services import services
from ..web.pages import page
from . import authorize as authorize_flow
from .discovery import metadata
from .endpoints import endpoint_url
from .hygiene import one_client_auth as _one_client_auth
from .hygiene import refuse_unprintable_protocol_values
from .par import push
from .server import SERVER
from .userinfo import userinfo as userinfo_response

log = logging.getLogger("idp.oidc")
bp = Blueprint("oidc", __name__, template_folder="templates")
"""Its templates are the logout pages, the only citizen pages of the protocol layer."""


bp.before_request(refuse_unprintable_protocol_values)


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    response = jsonify(metadata(services()[SERVER].services.config))
    response.cache_control.max_age = 300
    response.cache_control.public = True
    return response


@bp.get("/jwks")
def jwks():
    response = jsonify(services()[SERVER].services.ring().jwks())
    response.cache_control.max_age = 60
    response.cache_control.public = True
    return response


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    return authorize_flow.authorize()


@bp.post("/par")
def par():
    server = services()[SERVER]
    oauth_request = server.create_oauth2_request(None)
    try:
        _one_client_auth()
        return server.handle_response(*push(server, oauth_request))
    except OAuth2Error as error:
        return server.handle_error_response(oauth_request, error)


@bp.post("/token")
def token():
    server = services()[SERVER]
    try:
        _one_client_auth()
        if "DPoP" in request.headers:
            url = endpoint_url("oidc.token")
            nonce = server.services.config.dpop.nonce_at_token
            g.dpop_jkt = server.services.dpop.verify(
                request.headers, "POST", url, require_nonce=nonce
            )
    except OAuth2Error as error:
        return metrics.token_response(server.handle_error_response(None, error), None)
    return metrics.token_response(server.create_token_response(), request.form.get("grant_type"))


@bp.post("/revoke")
def revoke():
    return _endpoint("revocation")


@bp.post("/introspect")
def introspect():
    return _endpoint("introspection")


def _endpoint(name: str):
    server = services()[SERVER]
    try:
        _one_client_auth()
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    return server.create_endpoint_response(name)


@bp.post("/register")
def register():
    server = services()[SERVER]
    if not server.services.config.admin.registration_token:
        return jsonify(error="invalid_request", error_description="registration is off"), 404
    return server.create_endpoint_response("client_registration")


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """RP-initiated logout; without a valid id_token_hint the person confirms first (§6). Its
    pages are citizen pages: both languages, the shared layout, a readable page for a refused
    request (the person cannot act on an OAuth error code)."""
    server = services()[SERVER]
    confirmed = request.method == "POST" and _confirmation_ok()
    try:
        validated = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        log.info("logout refused: %s", error.error)
        return page("oidc/logout_refused.html", 400)
    if validated.needs_confirmation and not confirmed:
        return _confirmation_page()
    response = server.create_endpoint_response("end_session", validated)
    if response is not None:
        return response
    return page("oidc/logged_out.html", path=request.script_root + "/")


def _confirmation_ok() -> bool:
    expected = session.pop("logout_csrf", None)
    given = request.form.get("confirm")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def _confirmation_page():
    session["logout_csrf"] = token = secrets.token_urlsafe(16)
    fields = [(k, v) for k, v in request.values.items(multi=True) if k not in ("confirm", "lang")]
    return page("oidc/logout_confirm.html", fields=fields, confirm=token)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    server = services()[SERVER]
    url = endpoint_url("oidc.userinfo")
    status, body, headers = userinfo_response(server.services, request.headers, request.method, url)
    return server.handle_response(status, body, headers)
