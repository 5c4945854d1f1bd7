"""Client authentication methods (OIDC Core §9, RFC 7591 §2): the one list of them.

Every endpoint that authenticates clients (token, PAR, revocation, introspection, the document
API) accepts ``AUTH_METHODS``; a client registers one of them (``idp client add``, RFC 7591) and
discovery advertises them. Production serves FAPI 2.0 clients only (Security Profile §5.3.2.1):
``private_key_jwt`` is all it registers and advertises (``allowed``), and a stored client with
another method keeps a production process from starting (``fapi.fapi_shortfalls``).
"""

from __future__ import annotations

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name, not a secret)

AUTH_METHODS = (PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC)
"""Every method a client may be registered for, in the order discovery lists them. Authlib's
``invalid_client`` description quotes the methods as it was given them, so the endpoints and the
code grant hand it ``list(AUTH_METHODS)`` and the refresh grant the tuple, as they always did."""
FAPI_AUTH_METHODS = (PRIVATE_KEY_JWT,)
"""The methods of a FAPI 2.0 client (mTLS, the profile's other one, is not implemented)."""


def allowed(production: bool) -> tuple[str, ...]:
    """The methods this deployment registers and advertises."""
    return FAPI_AUTH_METHODS if production else AUTH_METHODS
