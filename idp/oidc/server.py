"""The authorization server, composed in one function.

Everything Authlib offers is registered here — the code grant with ``S256CodeChallenge`` and
``IdTokenExtension`` (``OpenIDCode``), the refresh grant, RFC 9207 ``iss``, client
authentication methods, JWT access tokens, revocation, introspection, end-session and (with an
admin credential) registration — plus our PAR extension. Policy lives in class constants and the
grant's ordered list.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Response, g

from .. import audit
from ..config import Config
from ..services import Service, services
from ..storage import outages
from ..storage.consents import record_access
from ..storage.db import db
from ..storage.ephemeral import EphemeralStore
from . import refresh
from .auth_methods import AUTH_METHODS
from .claims import SUPPORTED_SCOPES, unsupported_scope_error
from .client_auth import PrivateKeyJWT, challenge_fit
from .clients import serving_client
from .codes import drop_code, redeemed, redeemed_tombstone, release_code
from .dpop import DPoP
from .endpoints import endpoint_url
from .grants import CodeGrant
from .introspection import Introspection
from .keys import KeyRing
from .limited import count_request
from .logout import EndSession
from .openid import IdTokenExtension
from .par import PushedAuthorizationRequests, PushedPayload
from .pkce import S256CodeChallenge
from .registration import Registration
from .revocation import Revocation
from .subjects import SubjectMapper
from .tokens import AccessTokenGenerator, grant_record, issued_ns, jti_of


@dataclass(frozen=True)
class Services:
    """What the grant, extensions and views share; one per app."""

    config: Config
    store: Callable[[], EphemeralStore]
    ring: Callable[[], KeyRing]
    subjects: SubjectMapper
    dpop: DPoP


class ParamsRequest(OAuth2Request):
    """An authorization request rebuilt from stored parameters (PAR, resumed logins)."""

    def __init__(self, params: dict, pushed: bool, uri: str) -> None:
        super().__init__("GET", uri)
        self.payload = PushedPayload(params) if pushed else ResumedPayload(params)

    @property
    def args(self) -> dict:
        return self.payload.data

    @property
    def form(self) -> dict:
        return {}


class ResumedPayload(BasicOAuth2Payload):
    """Parameters of a plain (not pushed) request, kept while the person logged in."""

    pushed = False


class IdpServer(AuthorizationServer):
    """Authlib's Flask server with our request plumbing and shared services."""

    CLIENT_AUTH_METHODS: ClassVar = list(AUTH_METHODS)
    RATE_LIMITS: ClassVar = {"token": "token_per_client", "par": "par_per_client"}
    """Endpoints whose requests count against a per-client limit of ``[limits]``."""

    def __init__(self, services: Services) -> None:
        super().__init__(query_client=serving_client, save_token=self._save_token)
        self.services = services

    def create_oauth2_request(self, request) -> OAuth2Request:
        return (
            request
            if isinstance(request, OAuth2Request)
            else super().create_oauth2_request(request)
        )

    def validate_requested_scope(self, scope):
        """Authlib's check, with a description that says why ``profile`` is refused."""
        if (error := unsupported_scope_error(scope)) is not None:
            raise error

    def authenticate_client(self, request, methods, endpoint="token"):
        """The authenticated client, counted against its limit at this endpoint.

        Counted once authenticated: counting a client_id anyone can write would let anyone use
        up a bank's allowance. Invalid credentials are the proxy's per-address limit to stop."""
        try:
            client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            raise challenge_fit(error, request, self.query_client) from None
        if (limit := self.RATE_LIMITS.get(endpoint)) is not None:
            count_request(limit, client.client_id)
        return client

    def create_params_request(self, params: dict, pushed: bool) -> ParamsRequest:
        return ParamsRequest(params, pushed, self.services.config.issuer)

    def authorization_error(self, request, error):
        """An authorization-endpoint error; redirected ones carry ``iss`` (RFC 9207 §2). One that
        cannot be redirected (unknown client, unregistered redirect URI) is shown to the person
        by the app's error page (``ERROR_PAGE``), if it has one."""
        error.state = request.payload.state if request.payload else None
        if error.redirect_uri:
            error.redirect_uri = add_params_to_uri(
                error.redirect_uri, {"iss": self.services.config.issuer}
            )
        elif (shown := services()[ERROR_PAGE]) and (response := shown(error)) is not None:
            return response
        return self.handle_error_response(request, error)

    def _save_token(self, token: dict, request) -> None:
        """Record the access token's grant; store the refresh token in its family; add what a
        redeemed code delivered to the citizen's access history."""
        jti = jti_of(token["access_token"])
        if request.authorization_code is not None:
            family_id, client_id, sub, grant = self._start_family(request, jti)
        else:
            family_id, client_id, sub, grant = _continue_family(request, jti)
        record = {
            "client_id": client_id,
            "sub": sub,
            "scope": token["scope"],
            "claims": grant["claims"],
            "sid": grant["sid"],
            "jkt": request.user.dpop_jkt,
            "account_id": grant.get("account_id", ""),
            "consent_id": grant.get("consent_id"),
            "issued_ns": issued_ns(),
        }
        kept = request.refresh_token is not None and request.refresh_token.kept is not None
        if "refresh_token" in token and not kept:  # a kept one is in its family already
            refresh.add_token(family_id, token["refresh_token"])
        db.session.commit()
        self._write_grant(token["access_token"], record, family_id, request.authorization_code)

    def _start_family(self, request, jti: str) -> tuple[str, str, str, dict]:
        """A redeemed code starts a refresh-token family holding what the login established (its
        grant, which every refresh reads again); what the code delivered goes into the citizen's
        access history. (family id, client id, sub, grant)."""
        code, client = request.authorization_code, request.client
        grant = {
            "auth_time": code.auth_time,
            "acr": code.acr,
            "amr": code.amr,
            "sid": code.sid,
            "dpop_jkt": request.user.dpop_jkt,
            "claims": code.userinfo_claims,
            "account_id": code.account_id,
            "consent_id": code.consent_id,
            "certificate": code.certificate,
        }
        lifetime = self.services.config.tokens.refresh_token
        family_id = refresh.new_family(client.client_id, code.sub, code.scope, grant, lifetime, jti)
        if code.account_id:
            _record_delivery(code, client)
        return family_id, client.client_id, code.sub, grant

    def _write_grant(self, access_token: str, record: dict, family_id: str, code) -> None:
        """The access token's grant in the ephemeral store, and for a redeemed code its tombstone
        (a replay of the code finds the family to revoke there): one round trip, once the rows
        are durable, so nothing here points at a family that a failed commit lost."""
        tokens = self.services.config.tokens
        used = g.pop("held_code", None)  # durable now: never released again
        writes = [grant_record(access_token, record, tokens.access_token)]
        if code is not None:
            writes.append(redeemed_tombstone(used, family_id, tokens.refresh_token))
            writes.append(redeemed(used))
        self.services.store().write(*writes)

    def create_token_response(self, request=None):
        """Authlib's token endpoint, settling the code this request held (``grants``): released
        when the request failed before its token family was committed (an outage: the client
        may present the same code again), dropped when the code was refused (it is burnt)."""
        store = self.services.store()
        try:
            response = super().create_token_response(request)
        except Exception:
            if (code := g.pop("held_code", None)) is not None:
                with contextlib.suppress(*outages.REDIS):
                    release_code(store, code)
            raise
        if (code := g.pop("held_code", None)) is not None:
            drop_code(store, code)
        return response


class _Issuer(IssuerParameter):
    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer


def endpoint_urls() -> list[str]:
    """URLs of endpoints that authenticate clients, which assertions may name as ``aud``: fixed
    by the configuration, so built once per app (every client authentication asks)."""
    found = services()[ENDPOINT_URLS]
    if found is None:
        names = ("token", "par", "revoke", "introspect")
        found = services()[ENDPOINT_URLS] = [endpoint_url(f"oidc.{name}") for name in names]
    return list(found)


def build_server(services: Services) -> IdpServer:
    """The one place where the authorization server is assembled."""
    config = services.config
    server = IdpServer(services)
    server.scopes_supported = list(SUPPORTED_SCOPES)
    server.register_token_generator("default", AccessTokenGenerator(config, services.ring))
    server.register_client_auth_method(
        PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(config, services.store, endpoint_urls)
    )
    server.register_grant(CodeGrant, [S256CodeChallenge(), IdTokenExtension(services)])
    server.register_grant(refresh.RefreshGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_endpoint(EndSession)
    if config.admin.registration_token:
        server.register_endpoint(Registration)
    server.register_extension(PushedAuthorizationRequests())
    server.register_extension(_Issuer(config.issuer))
    return server


def _continue_family(request, jti: str) -> tuple[str, str, str, dict]:
    """A refresh continues its family with the grant the code started it with, and notes this
    access token as the family's latest. (family id, client id, sub, grant)."""
    family = request.refresh_token.family
    refresh.set_last_access(family.id, jti)
    return family.id, family.client_id, family.sub, json.loads(family.grant)


def _record_delivery(code, client) -> None:
    """What a redeemed code delivered at the token endpoint, in the citizen's access history and
    the audit stream; self-information is recorded where its API delivers it."""
    items = [i for i in code.items if not i.startswith("selfinfo:")]
    record_access(
        code.account_id, client.client_id, client.name, "token", " ".join(items), code.consent_id
    )
    audit.emit(
        audit.DATA_PROVIDED,
        client_id=client.client_id,
        account_id=code.account_id,
        via="token",
        items=items,
    )


SERVER: Service[IdpServer] = Service("authorization server")
"""The app's Authlib authorization server and what it shares (``.services``)."""
ERROR_PAGE: Service[Callable[[OAuth2Error], Response | None] | None] = Service(
    "OAuth error page", default=lambda: None
)
"""Shows people an authorization error that cannot be redirected (``idp.errorpages``); None:
Authlib's JSON answer."""
ENDPOINT_URLS: Service[list[str] | None] = Service("client-auth URLs", default=lambda: None)
"""``endpoint_urls``' answer, once first asked."""
