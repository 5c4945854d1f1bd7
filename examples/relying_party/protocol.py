"""What the bank asks the IdP for and keeps of its answers: the scopes and the verified-claims
request of a mortgage application, the pending authorization and the completed login, and the
three ways a call to the IdP fails (``idp_client`` raises them, the pages turn them into words).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

ACR_SIGN_IDENTITY = "urn:jpki-idp:acr:sign-cert-identity"
"""Identity verified with the card's signing certificate: what jp_aml (犯収法) needs."""
SCOPES = "openid selfinfo:income selfinfo:household"
SELFINFO_PREFIX = "selfinfo:"
WITHDRAWN = (
    "the consent for this data was withdrawn or has expired; ask the person again",
    "the person withdrew this service's access",
)
"""The IdP's ``error_description`` of an ``invalid_token`` that means the citizen withdrew the
permission (or it expired), as docs/selfinfo.md writes it; any other ``invalid_token`` means the
login itself ended (the token expired, was revoked by a logout, or the IdP forgot it)."""
VERIFIED_CLAIMS_REQUEST = {
    "id_token": {
        "acr": {"essential": True, "values": [ACR_SIGN_IDENTITY]},
        "verified_claims": {
            "verification": {
                "trust_framework": {"value": "jp_aml"},
                "time": None,
                "evidence": [{"type": {"value": "electronic_signature"}}],
            },
            "claims": {
                "name": {"essential": True, "purpose": "申込者の確認 / to identify the applicant"},
                "address": {"essential": True, "purpose": "担保物件と住所の確認 / address check"},
                "birthdate": {"essential": True, "purpose": "完済時年齢 / age at final payment"},
            },
        },
    }
}
"""The ``claims`` parameter (OIDC Core §5.5, OIDC4IDA): verified name, address and birthdate
under jp_aml with electronic-signature evidence, in the ID token."""
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class IdpUnavailable(Exception):
    """The IdP could not be reached (connection refused, timeout, 5xx)."""


class IdpError(Exception):
    """The IdP answered with an OAuth error; ``error`` is its code."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    @property
    def withdrawn(self) -> bool:
        """An ``invalid_token`` because the citizen withdrew the permission (or it expired)."""
        return self.error == "invalid_token" and self.description in WITHDRAWN


class InvalidToken(Exception):
    """An ID token or logout token that must not be trusted."""


@dataclass
class Authorization:
    """What the bank keeps between sending the browser to the IdP and the callback."""

    state: str
    nonce: str
    code_verifier: str
    url: str


@dataclass
class Login:
    """The result of a completed login: the tokens and the validated ID-token claims."""

    access_token: str
    token_type: str
    scope: str
    expires_in: int
    refresh_token: str | None
    id_token: str
    claims: dict[str, Any]
    received_at: int = field(default_factory=lambda: int(time.time()))

    def granted_selfinfo(self) -> tuple[str, ...]:
        """The self-information categories the citizen granted, in the order asked.

        The consent screen lets the citizen untick optional items, and the IdP then narrows
        the token's ``scope``: what was asked is not what was granted. RFC 6749 §5.1: a token
        response without ``scope`` was granted everything asked."""
        granted = set((self.scope if self.scope else SCOPES).split())
        asked = [s for s in SCOPES.split() if s.startswith(SELFINFO_PREFIX)]
        return tuple(s.removeprefix(SELFINFO_PREFIX) for s in asked if s in granted)

    def expired(self, now: float | None = None) -> bool:
        """The access token's lifetime (``expires_in``) is over: no call would succeed."""
        now = time.time() if now is None else now
        return bool(self.expires_in) and now >= self.received_at + self.expires_in
