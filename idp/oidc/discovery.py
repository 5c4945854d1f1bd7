"""Discovery metadata (OIDC Discovery §3, RFC 8414 §2) that tells the truth.

Only what is implemented is advertised: code flow, S256, private_key_jwt and (development)
client_secret_basic, PAR, RFC 9207 ``iss``, pairwise and public subjects, our acr values, and
OIDC for Identity Assurance's verified claims (``verified_claims.discovery_metadata``). Authlib's
``AuthorizationServerMetadata`` validates the document in the tests.

Production says what it enforces on every client (``fapi.fapi_shortfalls``, FAPI 2.0): PAR
required, private_key_jwt only, and ID tokens, client assertions and DPoP proofs signed with
PS256 or ES256 only.
"""

from __future__ import annotations

from ..config import FAPI_ALGORITHMS, Config
from .auth_methods import allowed as auth_methods_allowed
from .authenticator import ACR_VALUES
from .claims import SUPPORTED_CLAIMS, SUPPORTED_SCOPES
from .dpop import ALGORITHMS as DPOP_ALGORITHMS
from .endpoints import endpoint_url
from .fapi import assertion_algorithms
from .verified_claims import discovery_metadata as verified_claims_metadata


def metadata(config: Config) -> dict:
    """The provider metadata; endpoint URLs are built under the issuer."""

    def url(name: str) -> str:
        return endpoint_url(name, issuer=config.issuer)

    production = config.environment == "production"
    auth_methods = list(auth_methods_allowed(production))
    algorithms = list(config.keys.algorithms)
    if production:  # every client signs with one of these (config.FAPI_ALGORITHMS)
        algorithms = [a for a in algorithms if a in FAPI_ALGORITHMS]
    client_algs = list(assertion_algorithms(production))
    return {
        "issuer": config.issuer,
        "authorization_endpoint": url("oidc.authorize"),
        "token_endpoint": url("oidc.token"),
        "userinfo_endpoint": url("oidc.userinfo"),
        **(
            {"registration_endpoint": url("oidc.register")}
            if config.admin.registration_token
            else {}
        ),
        "jwks_uri": url("oidc.jwks"),
        "pushed_authorization_request_endpoint": url("oidc.par"),
        "revocation_endpoint": url("oidc.revoke"),
        "end_session_endpoint": url("oidc.logout"),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": client_algs,
        "introspection_endpoint": url("oidc.introspect"),
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": client_algs,
        "require_pushed_authorization_requests": production,
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": client_algs,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(
            FAPI_ALGORITHMS if production else DPOP_ALGORITHMS
        ),
        "acr_values_supported": list(ACR_VALUES),
        "claims_supported": list(SUPPORTED_CLAIMS),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "claim_types_supported": ["normal"],
        "ui_locales_supported": ["ja", "en"],
        **verified_claims_metadata(),
    }
