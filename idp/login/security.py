"""What every citizen page sends and checks: CSRF tokens and strict response headers.

CSRF (issue 7 §2): a random token in the signed session cookie, echoed by each form (field
``csrf_token``) or script request (header ``X-CSRF-Token``) and compared in constant time. The
session cookie is SameSite=Lax as well; the token is what makes a forged POST fail.

Headers: a CSP with no inline script or style and no third-party origin; ``connect-src`` adds
only the bridge's loopback origin, which the login page calls. ``frame-ancestors 'none'`` (and
X-Frame-Options for old browsers) stops clickjacking of the login button. ``form-action`` is
left out on purpose: the login form's answer is a redirect to the relying party, which Chromium
would block under ``form-action 'self'``.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from werkzeug.wrappers import Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """This browser's token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok() -> bool:
    """True when the request echoes this session's token (form field or header)."""
    expected = session.get("csrf")
    presented = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def content_security_policy(bridge_origin: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src 'self' {bridge_origin}",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


def harden(response: Response, bridge_origin: str) -> Response:
    """Headers for a citizen page: strict CSP, no framing, no caching, no referrer."""
    response.headers["Content-Security-Policy"] = content_security_policy(bridge_origin)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
