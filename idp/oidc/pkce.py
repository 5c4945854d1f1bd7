"""PKCE (RFC 7636) pinned to S256, required for every client (FAPI 2.0 §5.3.2.2, RFC 9700 §2.1.1).

Authlib's ``CodeChallenge`` accepts ``plain``, defaults a missing method to ``plain``, and only
demands a challenge from public clients. Here an authorization request without
``code_challenge`` or with any method but ``S256`` is refused, and every token request must carry
the verifier (a downgrade to "no PKCE" is impossible because every stored code has a challenge).
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, compare_s256_code_challenge


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
        """Every client, confidential or not, must prove possession of the verifier. A refusal
        names the verifier, never the code (which a client would then look for in vain)."""
        verifier = grant.request.form.get("code_verifier")
        if not verifier:
            raise InvalidRequestError("Missing 'code_verifier'")
        if not CODE_VERIFIER_PATTERN.match(verifier):
            raise InvalidRequestError(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"
                " (RFC 7636 section 4.1)"
            )
        try:
            super().validate_code_verifier(grant, result)
        except InvalidGrantError:
            raise InvalidGrantError(
                "code_verifier does not match the code_challenge of the authorization request"
                " (PKCE, RFC 7636 section 4.6); the code is used up: start a new authorization"
            ) from None
