"""What every citizen page sends and checks: CSRF tokens and strict response headers.

CSRF: a random token in the signed session cookie, echoed by each form (field
``csrf_token``) or script request (header ``X-CSRF-Token``) and compared in constant time. The
session cookie is SameSite=Lax as well; the token is what makes a forged POST fail.

Headers (``harden`` on citizen pages; ``secure_defaults`` on every other response of the app,
where the view set none of its own, and HSTS when the issuer is https): a CSP with no inline
script or style and no third-party origin; ``connect-src`` adds
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


HSTS = "max-age=63072000"
"""Two years (the proxy must not add its own: one header, set here, whatever terminates TLS)."""


def page_headers(bridge_origin: str) -> dict[str, str]:
    """A citizen page's headers: strict CSP, no framing, no sniffing, no caching, no referrer."""
    return {
        "Content-Security-Policy": content_security_policy(bridge_origin),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def harden(response: Response, bridge_origin: str) -> Response:
    """A citizen page's headers, replacing any the view set."""
    response.headers.update(page_headers(bridge_origin))
    return response


def secure_defaults(response: Response, bridge_origin: str, https: bool) -> Response:
    """Every response of the app gets the page headers the view did not set itself (so
    discovery and JWKS keep their public caching), and HSTS when the issuer is https."""
    for name, value in page_headers(bridge_origin).items():
        if name not in response.headers:
            response.headers[name] = value
    if https:
        response.headers["Strict-Transport-Security"] = HSTS
    return response
