"""Rate limits on OAuth endpoints: the OAuth error for a client over its allowance."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Error

from ..services import services
from ..storage.ratelimits import RATE_LIMITS, Limited


class SlowDown(OAuth2Error):
    """429 for a client over its rate limit, with ``Retry-After`` (RFC 6585 §4).

    RFC 6749 §5.2 has no error code for it. ``slow_down`` is the registered code that tells a
    client at the token endpoint to ask less often (RFC 8628 §3.5, OAuth Extensions Error
    registry); RFC 9126 §2.3 names 429 for a PAR client over the server's allowance. Not
    ``temporarily_unavailable``: that one is for the authorization endpoint (RFC 6749
    §4.1.2.1) and says the server is overloaded, not that this client asks too often."""

    error = "slow_down"
    status_code = 429

    def __init__(self, limited: Limited) -> None:
        super().__init__(f"too many requests; retry after {limited.retry_after} seconds")
        self.retry_after = limited.retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


def count_request(limit: str, identifier: str) -> None:
    """Count one request against ``limit`` of ``[limits]``; SlowDown (429) when over it."""
    try:
        services()[RATE_LIMITS].hit(limit, identifier)
    except Limited as limited:
        raise SlowDown(limited) from None
