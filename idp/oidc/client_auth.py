"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) with FAPI 2.0 limits.

Authlib's ``JWTBearerClientAssertion`` verifies signature, iss = sub = client_id, aud and exp. We
add: ``aud`` is the issuer or the token / PAR endpoint and nothing else (RFC 9700 §2.3, the
audience-injection fix); ``exp`` at most ``client_assertion_max_age`` ahead (an hour by default:
Authlib's clients send an hour, idpyoidc's ten minutes); ``jti`` single use through the ephemeral
store until the assertion's ``exp``; in production, a PS256 or ES256 signature only (FAPI 2.0
Security Profile §5.4.1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet

from ..config import Config
from ..storage.ephemeral import EphemeralStore
from . import client_urls, untrusted_json
from .auth_methods import CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT
from .fapi import assertion_algorithms

LEEWAY = 30
"""Seconds of clock skew tolerated on exp/nbf/iat."""
JWKS_CACHE = 300
"""Seconds a client's jwks_uri document is reused before it is fetched again."""

log = logging.getLogger(__name__)


class PrivateKeyJWT(JWTBearerClientAssertion):
    """The ``private_key_jwt`` method, registered under that name."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(
        self,
        config: Config,
        store_getter: Callable[[], EphemeralStore],
        endpoint_urls: Callable[[], list[str]],
    ) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY)
        self._config = config
        self._store: Callable[[], EphemeralStore] = store_getter
        self._endpoint_urls = endpoint_urls

    def get_audiences(self) -> list[str]:
        return [self._config.issuer, *self._endpoint_urls()]

    def extract_assertion(self, assertion: str):
        """Only a compact JWS of bounded JSON reaches the JOSE library (``untrusted_json``)."""
        if not untrusted_json.compact_jws_ok(assertion):
            raise InvalidClientError(description="the client assertion is not a compact JWS")
        return super().extract_assertion(assertion)

    def verify_claims(self, claims: jwt.Claims) -> None:
        """Authlib's checks (the ``jti`` spent last) after ours: ``aud`` one value, ``exp`` a
        number at most ``client_assertion_max_age`` ahead, so a refused assertion spends no
        ``jti`` and every spent one has an ``exp`` to keep it until."""
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) != 1:
            raise InvalidClientError(description="client assertion 'aud' must be one value")
        exp, most = claims.get("exp"), self._config.tokens.client_assertion_max_age
        if isinstance(exp, int | float) and not isinstance(exp, bool) and exp - time.time() > most:
            raise InvalidClientError(
                description=f"client assertion 'exp' is too far ahead (at most {most} s)"
            )
        super().verify_claims(claims)
        if not isinstance(claims["exp"], int | float):
            raise InvalidClientError(description="client assertion 'exp' must be a number")

    def process_assertion_claims(self, assertion, resolve_key):
        """Authlib's, with the algorithms discovery lists (``fapi.assertion_algorithms``)
        instead of joserfc's "recommended" set, which lacks PS256."""
        allowed = assertion_algorithms(self._config.environment == "production")
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(allowed))
        except UnsupportedAlgorithmError:
            raise InvalidClientError(
                description=f"client assertions must be signed with one of {', '.join(allowed)}"
            ) from None
        except JoseError as e:
            raise InvalidClientError(description=e.description) from e
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims, jti) -> bool:
        """First use of this (client, jti): remembered until the assertion's ``exp`` (plus the
        leeway the ``exp`` check grants), so it is refused for as long as it could pass."""
        exp = claims.get("exp")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return False
        ttl = min(exp - time.time(), self._config.tokens.client_assertion_max_age) + 2 * LEEWAY
        return self._store().add(f"jti:client:{claims['sub']}:{jti}", b"1", max(ttl, 1))

    def resolve_client_public_key(self, client) -> KeySet:
        if jwks := client.jwks:  # registered keys: imported once per client snapshot
            found = client.__dict__.get("idp_key_set")
            if found is None or found[0] is not jwks:
                found = client.__dict__["idp_key_set"] = (jwks, self._import(jwks))
            return found[1]
        return self._import(self._fetch(client) if client.jwks_uri else None)

    @staticmethod
    def _import(jwks: dict | None) -> KeySet:
        if not jwks:
            raise InvalidClientError(description="the client has no usable jwks")
        try:
            return KeySet.import_key_set(jwks)
        except (JoseError, ValueError, TypeError, KeyError):
            raise InvalidClientError(description="the client's jwks is not a JWK Set") from None

    def _fetch(self, client) -> dict | None:
        """The client's JWK Set from its jwks_uri, cached for JWKS_CACHE seconds; fetched
        through ``client_urls`` (public addresses only, size and time limits)."""
        uri = client.jwks_uri
        store, key = self._store(), "jwks_uri:" + hashlib.sha256(uri.encode()).hexdigest()
        if cached := store.get(key):
            return json.loads(cached)
        try:
            jwks = client_urls.get_json(uri, self._config.client_urls.allow_loopback)
        except client_urls.UrlRefused as e:
            log.warning("jwks_uri of client %s refused: %s", client.client_id, e)
            return None
        except client_urls.ClientUrlError as e:
            log.warning("jwks_uri of client %s not fetched: %s", client.client_id, e)
            return None
        if not isinstance(jwks, dict):
            return None
        store.set(key, json.dumps(jwks).encode(), JWKS_CACHE)
        return jwks


def challenge_fit(error: InvalidClientError, request, query_client) -> InvalidClientError:
    """``error`` with a challenge only where it fits (RFC 6749 §5.2): Authlib answers a request
    that no method authenticated with 401 and a ``Basic`` challenge whenever client_secret_basic
    is among the endpoint's methods. That stays for a request that tried Basic and for a client
    registered for it; any other (a private_key_jwt client, an unknown client) gets 400 and no
    challenge, with what its client must send."""
    if error.status_code != 401 or request.headers.get("Authorization"):
        return error
    client_id = (request.form or {}).get("client_id")
    client = query_client(client_id) if isinstance(client_id, str) and client_id else None
    method = client.token_endpoint_auth_method if client is not None else PRIVATE_KEY_JWT
    if method == CLIENT_SECRET_BASIC:
        return error
    return InvalidClientError(
        description=f"client authentication is required: this client uses {method}"
        " (client_assertion_type and client_assertion)"
        if client is not None
        else "client authentication is required (private_key_jwt: client_assertion_type and"
        " client_assertion, with the client_id of a registered client)"
    )
