"""Request hygiene in front of Authlib: inputs that would otherwise turn into a 500.

Authlib raises ``ValueError`` when an error description would contain characters outside
RFC 6749 §5.2's set (it echoes ``response_type`` and ``grant_type``), and its Basic-credentials
parser fails on headers like ``"Basic "``. Both are caught here, with OAuth errors, before
Authlib sees the request. Found by ``tests/oidc/test_no_server_errors.py``.
"""

from __future__ import annotations

import base64
import binascii
import re

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError
from flask import jsonify, request

PROTOCOL_PARAMETERS = (
    "response_type",
    "grant_type",
    "token_type_hint",
    "response_mode",
    "code_challenge_method",
    "prompt",
    "client_assertion_type",
)
"""Parameters whose values Authlib may echo into error descriptions."""
VSCHAR = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
"""The characters an error description may carry (RFC 6749 §5.2)."""


def error_description(text: str) -> str:
    """``text`` fit for an error description (RFC 6749 §5.2): any other character, such as an
    echoed value's quote or backslash, becomes '?' (Authlib raises on them: a 500)."""
    return "".join(c if VSCHAR.fullmatch(c) else "?" for c in text)


def refuse_unprintable_protocol_values():
    """Refuse control and non-ASCII characters in protocol parameters before Authlib echoes them
    into an error description (its constructor raises on them, which would be a 500)."""
    values = request.values
    for name in PROTOCOL_PARAMETERS:
        for value in values.getlist(name):
            if len(value) > 256 or not VSCHAR.fullmatch(value):
                return jsonify(
                    error="invalid_request",
                    error_description=f"'{name}' has characters outside VSCHAR",
                ), 400
    return None


def one_client_auth() -> None:
    """RFC 6749 §2.3: one authentication method at a time, and a well-formed Authorization.

    Authlib's Basic parser raises on headers such as "Basic " (a 500); such headers are
    refused here as ``invalid_client`` first.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if not credentials.strip() or (scheme.lower() == "basic" and not _basic_ok(credentials)):
            raise InvalidClientError(status_code=401, description="malformed Authorization header")
        if request.form.get("client_assertion"):
            raise InvalidRequestError("use one client authentication method, not several")


def _basic_ok(credentials: str) -> bool:
    try:
        return ":" in base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
