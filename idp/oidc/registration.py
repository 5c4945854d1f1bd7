"""Dynamic client registration (RFC 7591) behind an administrative credential.

Open registration would let anyone become a relying party of a national-ID login, so the
endpoint requires ``Authorization: Bearer <admin.registration_token>`` and is off when that is
empty. Metadata is validated by Authlib's RFC 7591 and OIDC Registration claim classes, then by
the same rules as ``idp client add`` (``clients.register_client``). Supported extras:
``require_pushed_authorization_requests`` (RFC 9126 §6), ``dpop_bound_access_tokens``
(RFC 9449 §5.2), ``backchannel_logout_uri`` (OIDC Back-Channel Logout §2.2), and the eKYC
metadata ``trust_framework``, ``purpose`` and ``retention_days`` (``clients.VERIFICATION_FIELDS``).

``id_token_signed_response_alg`` (OIDC Registration §2) is checked by Authlib against discovery
and again by ``clients.check_signing_alg``; it also signs the client's access tokens. Omitted, it
is not stored and the response names the algorithm the client will get (RS256 by default).
Production registers FAPI 2.0 clients only (``fapi.fapi_shortfalls``): others are refused with
``invalid_client_metadata`` saying what they lack.
"""

from __future__ import annotations

import hashlib
import hmac

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oidc.registration import ClientMetadataClaims as OidcClientMetadataClaims
from flask import request as flask_request

from .auth_methods import PRIVATE_KEY_JWT
from .client_languages import tagged_members
from .clients import VERIFICATION_FIELDS, ClientRejected, register_client
from .discovery import metadata
from .fapi import fapi_refusal, fapi_shortfalls
from .hygiene import error_description
from .limited import count_request
from .openid import client_signing_alg
from .registration_body import check_body

FLAGS = {
    "require_pushed_authorization_requests": "require_par",
    "dpop_bound_access_tokens": "require_dpop",
}


class Registration(ClientRegistrationEndpoint):
    """RFC 7591 §3 with our validation and storage; no client configuration endpoint (RFC 7592)."""

    def __init__(self, server=None) -> None:
        super().__init__(server, [ClientMetadataClaims, OidcClientMetadataClaims])

    def authenticate_token(self, request):
        expected = self.server.services.config.admin.registration_token
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        given = token.encode("utf-8", "surrogateescape")  # compare_digest refuses non-ASCII str
        if (
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given, expected.encode())
        ):
            count_request("registrations_per_token", hashlib.sha256(given).hexdigest())
            return "admin"
        raise InvalidTokenError("the initial access token is missing or wrong")

    def extract_client_metadata(self, request):
        """The body's shape first (``registration_body``: bounded JSON, typed members); then
        production refuses a client that is not FAPI 2.0, naming all it lacks (Authlib's checks
        against discovery would name one field, or none for an omitted flag)."""
        check_body(flask_request.get_data(cache=True))
        config, data = self.server.services.config, request.payload.data
        if config.environment == "production" and isinstance(data, dict):
            lacks = fapi_shortfalls(
                data.get("token_endpoint_auth_method", PRIVATE_KEY_JWT),
                data.get("require_pushed_authorization_requests") is True,
                data.get("dpop_bound_access_tokens") is True,
                data.get("id_token_signed_response_alg") or config.keys.default_algorithm,
            )
            if lacks:
                raise InvalidClientMetadataError(fapi_refusal(lacks))
        return super().extract_client_metadata(request)

    def get_server_metadata(self) -> dict:
        return metadata(self.server.services.config)

    def generate_client_info(self, request) -> dict:  # noqa: ARG002
        """Identifiers come from ``register_client`` (``generate_client_registration_info``)."""
        return {}

    def save_client(self, client_info, client_metadata, request):  # noqa: ARG002
        data = request.payload.data
        flags = {ours: data.get(theirs, False) for theirs, ours in FLAGS.items()}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise InvalidClientMetadataError("PAR and DPoP requirements must be booleans")
        try:
            client, secret = register_client(
                client_metadata.get("client_name") or "unnamed client",
                list(client_metadata.get("redirect_uris") or []),
                client_metadata.get("token_endpoint_auth_method", PRIVATE_KEY_JWT),
                jwks=client_metadata.get("jwks"),
                jwks_uri=client_metadata.get("jwks_uri"),
                subject_type=client_metadata.get("subject_type", "pairwise"),
                sector_identifier_uri=client_metadata.get("sector_identifier_uri"),
                backchannel_logout_uri=_string(data, "backchannel_logout_uri"),
                post_logout_redirect_uris=_strings(data, "post_logout_redirect_uris"),
                **{name: data.get(name) for name in VERIFICATION_FIELDS},
                scope=client_metadata.get("scope"),
                # the request's own value: Authlib's claims class fills in RS256 when omitted
                id_token_signed_response_alg=data.get("id_token_signed_response_alg"),
                production=self.server.services.config.environment == "production",
                localized=tagged_members(data),
                pades_level=_string(data, "pades_level"),
                **flags,
            )
        except ClientRejected as e:
            error = (
                InvalidRedirectURIError
                if e.error == "invalid_redirect_uri"
                else (InvalidClientMetadataError)
            )
            raise error(error_description(str(e))) from None
        request.registered_secret = secret
        return client

    def generate_client_registration_info(self, client, request) -> dict:
        info = {
            "client_id": client.client_id,
            "client_id_issued_at": client.client_id_issued_at,
            "require_pushed_authorization_requests": client.require_par,
            "dpop_bound_access_tokens": client.require_dpop,
            "id_token_signed_response_alg": client_signing_alg(
                client, self.server.services.config.keys
            ),
        }
        metadata = client.client_metadata
        info.update({k: v for k, v in metadata.items() if k in VERIFICATION_FIELDS})
        info.update(tagged_members(metadata))
        if request.registered_secret:
            info["client_secret"] = request.registered_secret
            info["client_secret_expires_at"] = 0
        return info


def _strings(data, name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadataError(f"{name} must be a list of strings")
    return value


def _string(data, name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidClientMetadataError(f"{name} must be a string")
    return value
