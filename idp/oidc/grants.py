"""The authorization code grant with this IdP's request policy (FAPI 2.0 §5.3.2).

Authlib's ``AuthorizationCodeGrant`` does the RFC 6749 steps; the checks below run, in this
order, after Authlib has validated client, redirect URI and scope, so every refusal is returned to
the (already verified) redirect URI with ``state`` and ``iss``. They run before the extensions'
checks (PKCE, then the ID token's nonce, in ``register_grant``'s order): ``CodeGrant`` keeps its
hooks in registration order, where Authlib keeps them in a set whose order changes from one
request to the next, so a request wrong in several ways always gets the same refusal.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections import defaultdict
from typing import ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc9101.errors import RequestNotSupportedError, RequestUriNotSupportedError
from flask import g

from ..services import services as app_services  # here "services" is the protocol's
from . import verified_claims
from .auth_methods import AUTH_METHODS
from .authenticator import ACR_CARD_AUTH, ACR_VALUES, CARD_STANDING
from .claims import parse_claims_request, requested_acr_values
from .codes import AuthorizationCode, EndUser, hold_code, redeemed_family, save_code
from .dpop import bind
from .refresh import revoke_family_by_id

PROMPTS = {"none", "login", "consent"}
UNUSABLE_CODE = (
    "the code is unknown, expired, already used or another client's (a token request refused"
    " for its code_verifier or redirect_uri uses the code up too): start a new authorization"
)


def check_pushed(grant) -> None:
    """RFC 9126 §6: a client registered with require_par may not send a plain request."""
    if grant.request.client.require_par and not getattr(grant.request.payload, "pushed", False):
        raise InvalidRequestError("this client must use pushed authorization requests (PAR)")


def check_unsupported_parameters(grant) -> None:
    """Request objects and other response modes are not offered; say so instead of ignoring."""
    data = grant.request.payload.data
    if data.get("request"):  # OIDC Core §6.1, RFC 9101 §6.3
        raise RequestNotSupportedError("request objects are not supported: push the parameters")
    if data.get("request_uri"):
        raise RequestUriNotSupportedError("request_uri is accepted only from this server's PAR")
    if data.get("response_mode") not in (None, "query"):
        raise InvalidRequestError("only response_mode=query is supported")


def check_purpose(grant) -> None:
    """OIDC for Identity Assurance §8: the request's ``purpose``, shown to the person."""
    verified_claims.check_purpose(grant.request.payload.data.get("purpose"))


MAX_AGE = re.compile(r"[0-9]{1,9}")
"""A ``max_age`` we accept: ASCII digits (``isdigit`` also takes ``²``, which ``int`` refuses)."""


def check_prompt_and_max_age(grant) -> None:
    """OIDC Core §3.1.2.1: known prompt values, none alone; max_age a non-negative integer;
    RFC 9449 §10: dpop_jkt a thumbprint."""
    data = grant.request.payload.data
    prompts = (data.get("prompt") or "").split()
    if not set(prompts) <= PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise InvalidRequestError("'prompt' must be none, or any of login and consent")
    jkt = data.get("dpop_jkt")
    if jkt is not None and not re.fullmatch(r"[A-Za-z0-9_-]{43}", jkt):
        raise InvalidRequestError("'dpop_jkt' must be a base64url SHA-256 JWK thumbprint")
    max_age = data.get("max_age")
    if max_age is not None and not MAX_AGE.fullmatch(str(max_age)):
        raise InvalidRequestError("'max_age' must be a non-negative integer")


def required_acr(payload) -> list[str]:
    """The acceptable acr values, best first; refuses a request none of whose values we offer."""
    claims = parse_claims_request(payload.data.get("claims"))
    requested = (payload.data.get("acr_values") or "").split() + requested_acr_values(claims)
    if not requested:
        return [ACR_CARD_AUTH]
    supported = [v for v in requested if v in ACR_VALUES]
    if not supported:
        raise InvalidRequestError("none of the requested acr values is supported")
    return supported


POLICY = (check_pushed, check_unsupported_parameters, check_prompt_and_max_age, check_purpose)


class CodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code only; codes live in the ephemeral store (``codes``)."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = list(AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        """256 random bits, 43 URL-safe characters (Authlib's default draws them one by one
        through ``random.SystemRandom``, ten times slower)."""
        return secrets.token_urlsafe(32)

    def __init__(self, request, server) -> None:
        super().__init__(request, server)
        self._hooks = defaultdict(list)
        self.register_hook("after_validate_authorization_request_payload", self._policy)

    def register_hook(self, hook_type, hook) -> None:
        """Kept in a list: hooks run in the order registered (this grant's policy, then each
        extension's), not in the order of Authlib's set, which follows memory addresses."""
        self._hooks[hook_type].append(hook)

    @staticmethod
    def validate_authorization_redirect_uri(request, client) -> str:
        """FAPI 2.0 §5.3.2.2: redirect_uri is required, then matched exactly (never defaulted)."""
        uri = request.payload.redirect_uri
        if not uri:
            raise InvalidRequestError("Missing 'redirect_uri'")
        if not client.check_redirect_uri(uri):
            raise InvalidRequestError("'redirect_uri' is not registered for this client")
        return uri

    def _policy(self, grant, redirect_uri) -> None:  # noqa: ARG002 (Authlib hook signature)
        for check in POLICY:
            check(self)
        required_acr(self.request.payload)
        claims = parse_claims_request(self.request.payload.data.get("claims"))
        verified_claims.check_request(claims, self.request.client.client_metadata)

    def save_authorization_code(self, code: str, request) -> None:
        approval = request.user
        data = request.payload.data
        record = AuthorizationCode(
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=approval.scope,
            sub=approval.sub,
            auth_time=approval.login.auth_time,
            acr=approval.login.acr,
            amr=list(approval.login.amr),
            code_challenge=data["code_challenge"],
            code_challenge_method="S256",
            nonce=data.get("nonce"),
            sid=approval.sid,
            dpop_jkt=data.get("dpop_jkt"),
            id_token_claims=approval.id_token_claims,
            userinfo_claims=approval.userinfo_claims,
            account_id=approval.login.account_id,
            consent_id=approval.consent_id,
            items=list(approval.items),
            certificate=approval.login.certificate,
        )
        services = self.server.services
        save_code(services.store(), code, record, services.config.tokens.authorization_code)

    def query_authorization_code(self, code, client) -> AuthorizationCode | None:
        """Single use even when refused: a code presented by the wrong client is burnt. A code
        presented again after it was redeemed revokes what it produced (RFC 6749 §4.1.2).
        The code is held for this request (``g.held_code``); ``IdpServer`` settles the hold."""
        store = self.server.services.store()
        record = hold_code(store, code)
        if record is None:
            if family_id := redeemed_family(store, code):
                revoke_family_by_id(family_id, store)
            raise InvalidGrantError(UNUSABLE_CODE)
        g.held_code = code
        if record.client_id != client.client_id:
            raise InvalidGrantError(UNUSABLE_CODE)
        if refusal := app_services()[CARD_STANDING](record.certificate, record.auth_time):
            raise InvalidGrantError(refusal)  # the card stopped after the code was issued
        return record

    def delete_authorization_code(self, authorization_code) -> None:
        """Nothing to delete here: the hold is dropped with the token's own writes."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> EndUser:
        jkt = bind(self.request.client, authorization_code.dpop_jkt, g.get("dpop_jkt"))
        return dataclasses.replace(EndUser.from_code(authorization_code), dpop_jkt=jkt)
