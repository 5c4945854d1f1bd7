"""The shape of a dynamic registration request (RFC 7591 §3.1), checked once before any rule.

Authlib's metadata classes and ``clients.register_client`` check values, assuming each member
has the type its specification gives: a list among the redirect URIs or a number for
``jwks_uri`` raised inside them (a 500), and an object for ``client_name`` was stored. Here the
body is bounded JSON (``untrusted_json``), an object, and every member we know has its type
(RFC 7591 §2, OIDC Registration §2, Back-Channel Logout §2.2, RP-Initiated Logout §3.1, RFC 9126
§6, RFC 9449 §5.2, and the eKYC members); a ``jwks`` must import as a public JWK Set. Members
we do not know are ignored, as RFC 7591 §2 asks. Language-tagged names (``client_name#ja``)
have the type of their base name.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError

from . import untrusted_json
from .clients import ClientRejected, check_jwks

MAX_BODY_BYTES = 64 * 1024

STRINGS = frozenset(
    {
        "client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri",
        "software_id", "software_version", "software_statement", "token_endpoint_auth_method",
        "scope", "application_type", "sector_identifier_uri", "subject_type",
        "id_token_signed_response_alg", "id_token_encrypted_response_alg",
        "id_token_encrypted_response_enc", "userinfo_signed_response_alg",
        "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc",
        "request_object_signing_alg", "request_object_encryption_alg",
        "request_object_encryption_enc", "token_endpoint_auth_signing_alg",
        "initiate_login_uri", "backchannel_logout_uri", "frontchannel_logout_uri",
        "trust_framework", "purpose", "pades_level",
    }
)  # fmt: skip
STRING_LISTS = frozenset(
    {
        "redirect_uris", "grant_types", "response_types", "contacts", "default_acr_values",
        "request_uris", "post_logout_redirect_uris",
    }
)  # fmt: skip
BOOLEANS = frozenset(
    {
        "require_auth_time", "backchannel_logout_session_required",
        "frontchannel_logout_session_required", "require_pushed_authorization_requests",
        "dpop_bound_access_tokens",
    }
)  # fmt: skip
INTEGERS = frozenset({"default_max_age", "retention_days"})


def check_body(raw: bytes) -> dict:
    """The request's JSON object, its known members of the right types; raises
    ``InvalidRequestError`` when it is no bounded JSON object, ``InvalidClientMetadataError``
    naming the first member of the wrong type."""
    try:
        body = untrusted_json.load(raw, MAX_BODY_BYTES)
    except untrusted_json.UntrustedJsonError as e:
        raise InvalidRequestError(f"the registration request {e}") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("the registration request must be a JSON object")
    for name, value in body.items():
        base = name.partition("#")[0]
        if problem := _problem(base, value):
            raise InvalidClientMetadataError(f"{base} must be {problem}")
    return body


def _problem(name: str, value: object) -> str | None:
    """What ``value`` must be for member ``name``, if it is not."""
    if name in STRINGS and not isinstance(value, str):
        return "a string"
    if name in STRING_LISTS and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return "an array of strings"
    if name in BOOLEANS and not isinstance(value, bool):
        return "a boolean"
    if name in INTEGERS and (isinstance(value, bool) or not isinstance(value, int)):
        return "an integer"
    if name == "jwks":
        keys = value.get("keys") if isinstance(value, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            return "a JWK Set: an object whose keys member is an array of objects"
        try:
            check_jwks(value)  # type: ignore[arg-type]
        except ClientRejected:
            return "a JWK Set of public keys"
    return None
