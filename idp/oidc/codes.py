"""Authorization codes in the ephemeral store: short TTL, single use, bound to their client.

A code is a 256-bit random value; the store key is its SHA-256, so the store (Redis) never holds a
usable code. The token endpoint *holds* it (``EphemeralStore.hold``: moved aside in one atomic
step), so of two racing token requests only one can redeem it (RFC 6749 §4.1.2, RFC 9700
§4.2.1). Once the token family is committed the hold is dropped; if the request fails before
that (PostgreSQL down), the code is released, and the client may present it again. The record
implements Authlib's ``AuthorizationCodeMixin``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from authlib.oidc.core import AuthorizationCodeMixin

from ..storage.ephemeral import Drop, EphemeralStore, Put


def _key(code: str) -> str:
    return "code:" + hashlib.sha256(code.encode()).hexdigest()


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """Everything the token endpoint needs, decided at the authorization endpoint."""

    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    auth_time: int
    acr: str
    amr: list[str]
    code_challenge: str
    code_challenge_method: str
    nonce: str | None = None
    sid: str | None = None
    dpop_jkt: str | None = None
    id_token_claims: dict = field(default_factory=dict)
    userinfo_claims: dict = field(default_factory=dict)
    account_id: str = ""
    """The internal account: kept server-side for the grant record, never put in a token."""
    consent_id: str | None = None
    items: list[str] = field(default_factory=list)
    """The consent items delivered under this code (for the citizen's access history)."""
    certificate: str = ""
    """The card certificate of the login (``LoginResult.certificate``), for its standing."""

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr)


def redeemed_tombstone(code: str, family_id: str, ttl: float) -> Put:
    """The tombstone of a redeemed code, naming the token family it produced, as a write the
    token endpoint can make together with the grant record (``EphemeralStore.write``: one
    round trip for both)."""
    return Put("used-" + _key(code), family_id.encode(), ttl)


def redeemed_family(store: EphemeralStore, code: str) -> str | None:
    """The family a code already produced, if this code was redeemed before (a replay)."""
    if not isinstance(code, str) or not code or len(code) > 512:
        return None
    raw = store.get("used-" + _key(code))
    return raw.decode() if raw else None


def save_code(store: EphemeralStore, code: str, record: AuthorizationCode, ttl: float) -> None:
    store.set(_key(code), json.dumps(dataclasses.asdict(record)).encode(), ttl)


def hold_code(store: EphemeralStore, code: str) -> AuthorizationCode | None:
    """The record, held for this token request; None if unknown, expired, used or held."""
    if not isinstance(code, str) or not code or len(code) > 512:
        return None
    raw = store.hold(_key(code))
    return AuthorizationCode(**json.loads(raw)) if raw else None


def release_code(store: EphemeralStore, code: str) -> None:
    """The token request failed before anything durable: the code may be presented again."""
    store.release(_key(code))


def drop_code(store: EphemeralStore, code: str) -> None:
    """The token request refused the code: it stays burnt."""
    store.drop(_key(code))


def redeemed(code: str) -> Drop:
    """The end of a held code's hold, as a write made with the token's own (one round trip)."""
    return Drop(_key(code))


@dataclass(frozen=True)
class EndUser:
    """The person as one client sees them at the token endpoint: a ``sub``, never an account."""

    sub: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    dpop_jkt: str | None = None

    def get_user_id(self) -> str:
        return self.sub

    @classmethod
    def from_code(cls, code: AuthorizationCode) -> EndUser:
        return cls(code.sub, code.auth_time, code.acr, tuple(code.amr), code.dpop_jkt)
