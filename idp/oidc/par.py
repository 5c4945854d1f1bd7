"""Pushed Authorization Requests (RFC 9126): the endpoint and the authorize-side resolution.

Modelled on Authlib's ``rfc9101`` extension: a ``before_get_authorization_grant`` hook replaces the
front-channel parameters by the pushed ones. A request_uri is 256 random bits, stored with a short
TTL (§2.2) under the SHA-256 of the pushing client's id and the request_uri, so it is bound to that
client (§4: the front-channel ``client_id`` must match: another client's lookup finds nothing and
uses nothing up) and single use (§4: held on first use, so reuse finds nothing). Resolving it is
one round trip to the store: a ``hold`` (moved aside atomically; of two racing uses exactly one gets
it), no read before it. /authorize ends the hold: ``taken_over`` drops it in the same write as the
login transaction that carries the request on (or after the request was answered), ``release``
puts it back when the request failed first (PostgreSQL down: the same request_uri works after
recovery). Only ``client_id`` and ``request_uri`` are read from the front channel (§4).
"""

from __future__ import annotations

import hashlib
import json
import secrets

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9101.errors import InvalidRequestUriError, RequestUriNotSupportedError

from ..storage.ephemeral import Drop, EphemeralStore
from .dpop import InvalidDPoPProofError
from .endpoints import endpoint_url

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
CLIENT_AUTH_PARAMS = ("client_assertion", "client_assertion_type", "client_secret")


class PushedPayload(BasicOAuth2Payload):
    """Authorization parameters that came through PAR (checked by ``grants.check_pushed``)."""

    pushed = True
    held: str | None = None
    """The store key of the pushed request while /authorize holds it (``resolve``)."""


def taken_over(payload) -> list[Drop]:
    """The end of the hold, to write with what carries the request on (one atomic write): from
    then on the request_uri is used up, and a later ``release`` finds nothing to put back."""
    held = getattr(payload, "held", None)
    return [Drop(held)] if held else []


def release(store: EphemeralStore, payload) -> None:
    """/authorize failed before carrying the request on: the request_uri may be used again."""
    held = getattr(payload, "held", None)
    if held:
        store.release(held)


def _key(client_id: str, request_uri: str) -> str:
    """The store key of a pushed request: only the client that pushed it can name it."""
    bound = json.dumps([client_id, request_uri]).encode()  # unambiguous: no separator tricks
    return "par:" + hashlib.sha256(bound).hexdigest()


def push(server, request) -> tuple[int, dict, list]:
    """RFC 9126 §2: authenticate the client, validate the request as /authorize would, store it."""
    client = server.authenticate_client(request, server.CLIENT_AUTH_METHODS, endpoint="par")
    form = request.form
    if any(len(form.getlist(k)) > 1 for k in form):
        raise InvalidRequestError("parameters must not be repeated")
    if "request_uri" in form or "request" in form:
        raise InvalidRequestError("'request_uri' and 'request' are not accepted here")
    if form.get("client_id", client.client_id) != client.client_id:
        raise InvalidClientError(description="'client_id' does not match the authenticated client")
    params = {k: v for k, v in form.items() if k not in CLIENT_AUTH_PARAMS}
    params["client_id"] = client.client_id
    if "DPoP" in request.headers:  # RFC 9449 §10.1: the pushing key becomes dpop_jkt
        url = endpoint_url("oidc.par")
        nonce = server.services.config.dpop.nonce_at_par
        jkt = server.services.dpop.verify(request.headers, "POST", url, require_nonce=nonce)
        if params.setdefault("dpop_jkt", jkt) != jkt:
            raise InvalidDPoPProofError("dpop_jkt does not match the DPoP proof")
    if client.require_dpop and not params.get("dpop_jkt"):
        # §10.1: a pushed request is bound to a key by a DPoP proof or dpop_jkt; one that names
        # none is missing what this client must send (RFC 6749 §5.2 invalid_request)
        raise InvalidRequestError("this client must send a DPoP proof (or dpop_jkt) with PAR")
    pushed = server.create_params_request(params, pushed=True)
    try:
        server.get_authorization_grant(pushed).validate_authorization_request()
    except OAuth2Error as error:
        error.redirect_uri = None  # §2.3: errors go in the PAR response, never to the browser
        raise
    request_uri = URN_PREFIX + secrets.token_urlsafe(32)
    ttl = server.services.config.tokens.par_request
    record = json.dumps({"client_id": client.client_id, "params": params}).encode()
    server.services.store().set(_key(client.client_id, request_uri), record, ttl)
    return 201, {"request_uri": request_uri, "expires_in": ttl}, default_json_headers


class PushedAuthorizationRequests:
    """Server extension: resolves ``request_uri`` at the authorization endpoint (RFC 9126 §4)."""

    def __call__(self, server) -> None:
        server.register_hook("before_get_authorization_grant", self.resolve)

    def resolve(self, server, request) -> None:
        request_uri = request.payload.data.get("request_uri")
        if request_uri is None or isinstance(request.payload, PushedPayload):
            return
        client_id = request.payload.client_id
        if isinstance(request_uri, str) and request_uri.lower().startswith(("https:", "http:")):
            # a request object by reference (RFC 9101 §5.2), which this server never fetches
            raise RequestUriNotSupportedError("request_uri is accepted only from this server's PAR")
        if not isinstance(request_uri, str) or not request_uri.startswith(URN_PREFIX):
            raise InvalidRequestUriError("unknown request_uri")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidRequestUriError("request_uri is unknown, expired, used or not yours")
        key = _key(client_id, request_uri)
        raw = server.services.store().hold(key)
        record = json.loads(raw) if raw else None
        if record is None or record["client_id"] != client_id:  # the second test: defence in depth
            if record is not None:
                server.services.store().drop(key)
            raise InvalidRequestUriError("request_uri is unknown, expired, used or not yours")
        request.payload = PushedPayload(record["params"])
        request.payload.held = key
