"""PKCE (RFC 7636) pinned to S256, required for every client (FAPI 2.0 §5.3.2.2, RFC 9700 §2.1.1).

Authlib's ``CodeChallenge`` accepts ``plain``, defaults a missing method to ``plain``, and only
demands a challenge from public clients. Here an authorization request without
``code_challenge`` or with any method but ``S256`` is refused, and every token request must carry
the verifier (a downgrade to "no PKCE" is impossible because every stored code has a challenge).
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge


class S256CodeChallenge(CodeChallenge):
    """``CodeChallenge(required=True)`` with S256 as the only method."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar = {"S256": compare_s256_code_challenge}

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant, redirect_uri) -> None:
        """Refuse a missing challenge or a method other than an explicit S256."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result) -> None:
        """Every client, confidential or not, must prove possession of the verifier."""
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)
