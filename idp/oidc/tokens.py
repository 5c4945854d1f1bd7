"""JWT access tokens (RFC 9068) and the grant record behind each one.

The token is self-contained for resource servers that only verify signatures; the IdP's own
resources (userinfo) also require its grant record in the ephemeral store, keyed by ``jti`` and
expiring with the token, so revocation and logout take effect before ``exp``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jws, jwt

from ..config import Config
from ..storage.ephemeral import EphemeralStore, Put
from .keys import KeyRing
from .openid import client_signing_alg


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Signs ``at+jwt`` tokens with the current key and names it in ``kid``.

    The algorithm is the client's ID token algorithm (``openid.client_signing_alg``): its
    registered ``id_token_signed_response_alg`` if this IdP has keys for it, else
    ``keys.default_algorithm``. A FAPI 2.0 client that registered PS256 or ES256 thus gets no
    RS256 token at all. ``self.alg`` (Authlib's single algorithm) is only that default.
    """

    def __init__(self, config: Config, ring: Callable[[], KeyRing]) -> None:
        super().__init__(
            issuer=config.issuer,
            alg=config.keys.default_algorithm,
            refresh_token_generator=lambda *_, **__: secrets.token_urlsafe(32),
        )
        self._config = config
        self._ring = ring
        self.expires_generator = config.tokens.access_token  # int: the same for every client

    def generate(
        self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True
    ) -> dict:
        """RFC 9449 §5: a key-bound access token has token_type DPoP."""
        token = super().generate(grant_type, client, user, scope, expires_in, include_refresh_token)
        if user is not None and user.dpop_jkt:
            token["token_type"] = "DPoP"  # noqa: S105 (a type name)
        return token

    def access_token_generator(self, client, grant_type, user, scope) -> str:  # noqa: ARG002
        """RFC 9068 claims, signed with ``client_signing_alg`` (see the class docstring)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": user.get_user_id(),
            "client_id": client.get_client_id(),
            "iat": now,
            "exp": now + self._config.tokens.access_token,
            "jti": secrets.token_urlsafe(24),
            "scope": scope,
            "auth_time": user.auth_time,
            "acr": user.acr,
            "amr": list(user.amr),
        }
        if user.dpop_jkt:
            claims["cnf"] = {"jkt": user.dpop_jkt}
        alg = client_signing_alg(client, self._config.keys)
        key = self._ring().signing_key(alg)
        header = {"alg": alg, "typ": "at+jwt", "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=[alg])  # PS256 is not a joserfc default


def grant_key(jti: str) -> str:
    return "grant:" + jti


def grant_record(access_token: str, record: dict, ttl: float) -> Put:
    """What the token was granted for, under its ``jti``, for as long as it lives: as a write
    the token endpoint can make together with the code's tombstone (``EphemeralStore.write``:
    one round trip for both)."""
    return Put(grant_key(jti_of(access_token)), json.dumps(record).encode(), ttl)


def jti_of(access_token: str) -> str:
    """The ``jti`` of an access token this server just made (no verification needed)."""
    return json.loads(jws.extract_compact(access_token.encode()).payload)["jti"]


def load_grant(store: EphemeralStore, jti: str) -> dict | None:
    raw = store.get(grant_key(jti))
    return json.loads(raw) if raw else None


def withdrawn_key(client_id: str, account_id: str) -> str:
    """Set when the person withdrew a consent from this client: every access token the client
    got for them before that moment is refused, not only the last one of each family."""
    return f"withdrawn:{client_id}:{account_id}"


def issued_ns() -> int:
    """The moment a token is issued, in nanoseconds, kept in its grant record: the withdrawal
    marker is compared with it, not with the token's ``iat`` (whole seconds), so a token issued
    in the same second as a withdrawal is judged by which came first."""
    return time.time_ns()


def mark_withdrawn(
    store: EphemeralStore, client_id: str, account_id: str, at_ns: int, ttl: float
) -> None:
    """``at_ns``: the withdrawal's moment in nanoseconds (``time.time_ns()``)."""
    store.set(withdrawn_key(client_id, account_id), str(at_ns).encode(), ttl)


def withdrawn_since(store: EphemeralStore, grant: dict, iat: int) -> bool:
    """True when the person withdrew from this client at or after the token was issued.

    The grant record's ``issued_ns`` decides to the nanosecond; a record without one (written
    before it existed) falls back to the start of its ``iat`` second, refusing when in doubt."""
    if not grant.get("account_id"):
        return False
    mark = store.get(withdrawn_key(grant["client_id"], grant["account_id"]))
    if mark is None:
        return False
    issued = grant.get("issued_ns")
    if not isinstance(issued, int):
        issued = iat * 1_000_000_000
    return issued <= int(mark)


def card_stopped_key(account_id: str) -> str:
    """Set when a card of the account was revoked or held: every access token issued for the
    account before that moment is refused, by any client."""
    return f"card-stopped:{account_id}"


def mark_card_stopped(store: EphemeralStore, account_id: str, at_ns: int, ttl: float) -> None:
    """``at_ns``: the moment the IdP learnt it, in nanoseconds (``time.time_ns()``); ``ttl``: an
    access token's lifetime, after which no token from before is left to refuse."""
    store.set(card_stopped_key(account_id), str(at_ns).encode(), ttl)


def card_stopped_since(store: EphemeralStore, grant: dict, iat: int) -> bool:
    """True when a card of the token's account was revoked or held at or after its issue
    (judged as ``withdrawn_since`` judges a withdrawal)."""
    if not grant.get("account_id"):
        return False
    mark = store.get(card_stopped_key(grant["account_id"]))
    if mark is None:
        return False
    issued = grant.get("issued_ns")
    if not isinstance(issued, int):
        issued = iat * 1_000_000_000
    return issued <= int(mark)
