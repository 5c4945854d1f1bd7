"""Client authentication for the document API: the token endpoint's methods, through Authlib.

``private_key_jwt`` (RFC 7523 §2.2, our ``PrivateKeyJWT`` with its audience, expiry and jti
rules) or ``client_secret_basic``, whichever the client is registered for. The assertion's
``aud`` may also name the ``/documents`` URL. A JSON body has no form, so the assertion travels
as the JSON members ``client_assertion_type`` and ``client_assertion`` (``POST /documents``) or
as query parameters of the same names (``GET``); Authlib reads them from this request's form.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import (
    ClientAuthentication,
    InvalidClientError,
    InvalidRequestError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import request

from ..oidc.auth_methods import AUTH_METHODS
from ..oidc.client_auth import PrivateKeyJWT
from ..oidc.clients import find_client
from ..oidc.endpoints import endpoint_url, issuer_url
from ..oidc.hygiene import one_client_auth
from ..oidc.server import endpoint_urls
from ..services import Service, services
from ..storage.ephemeral import EPHEMERAL
from ..storage.models import Client

ASSERTION_MEMBERS = ("client_assertion_type", "client_assertion")


class BackChannelRequest(OAuth2Request):
    """What Authlib's client authentication reads: headers and the assertion members."""

    def __init__(self, uri: str, headers, params: dict[str, str]) -> None:
        super().__init__(request.method, uri, headers=headers)
        self.payload = BasicOAuth2Payload(params)

    @property
    def form(self) -> dict:
        return self.payload.data

    @property
    def args(self) -> dict:
        return {}


def documents_url() -> str:
    return endpoint_url("documents.submit")


def build_authentication(app) -> ClientAuthentication:
    """The registry of methods for this app, the token endpoint's own plus our audience."""
    config = services(app).config
    authentication = ClientAuthentication(find_client)
    authentication.register(
        PrivateKeyJWT.CLIENT_AUTH_METHOD,
        PrivateKeyJWT(
            config,
            lambda: services(app)[EPHEMERAL],
            lambda: [*endpoint_urls(), documents_url()],
        ),
    )
    return authentication


def _assertion_params(body: dict | None) -> dict[str, str]:
    source = body if request.method == "POST" else request.args
    params = {}
    for name in ASSERTION_MEMBERS:
        value = (source or {}).get(name)
        if value is not None:
            if not isinstance(value, str) or len(value) > 8192:
                raise InvalidClientError(description=f"{name} must be a string")
            params[name] = value
    return params


def authenticate(body: dict | None) -> Client:
    """The authenticated client, or ``InvalidClientError`` / ``InvalidRequestError``.

    A refusal is 401 with a ``Basic`` challenge only for a request that tried HTTP Basic; a
    missing or refused assertion is 400 without a challenge, as no HTTP scheme carries one
    (RFC 6749 §5.2)."""
    one_client_auth()  # a malformed Authorization header is invalid_client, never a 500
    params = _assertion_params(body)
    if request.headers.get("Authorization") and params.get("client_assertion"):
        raise InvalidRequestError("use one client authentication method, not several")
    oauth_request = BackChannelRequest(issuer_url(request.path), request.headers, params)
    authentication = services()[CLIENT_AUTHENTICATION]
    try:
        return authentication(oauth_request, list(AUTH_METHODS), "documents")
    except InvalidClientError as error:
        error.status_code = 401 if request.headers.get("Authorization") else 400
        raise


CLIENT_AUTHENTICATION: Service[ClientAuthentication] = Service("document API client authentication")
"""How the document API authenticates the services that call it (``build_authentication``)."""
