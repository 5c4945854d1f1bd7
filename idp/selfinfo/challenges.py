"""Error answers of the self-information API: RFC 6750 §3 and RFC 9449 §7.1 challenges.

Every answer is JSON with ``error`` and ``error_description``, and ``Cache-Control: no-store``.
A 401/403 also carries ``WWW-Authenticate`` in the scheme the token needs: ``DPoP`` for a
key-bound token (or a DPoP request), ``Bearer`` otherwise; a request with no token at all gets
both challenges and no error code (RFC 6750 §3.1).
"""

from __future__ import annotations

from flask import Response, jsonify

from ..oidc.dpop import ALGORITHMS as DPOP_ALGORITHMS

REALM = "selfinfo"


def no_store(response: Response) -> Response:
    """Personal data, and errors about it, are never cached (RFC 6750 §5.3)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def problem(status: int, error: str, description: str) -> Response:
    """A JSON error without a challenge (404, 405)."""
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return no_store(response)


def challenge(
    status: int, error: str | None, description: str, scheme: str | None, scope: str = ""
) -> Response:
    """A 401/403 with ``WWW-Authenticate``; ``scheme`` None means no token was presented."""
    response = problem(status, error or "invalid_token", description)
    params = [f'realm="{REALM}"']
    if error:
        params += [f'error="{error}"', f'error_description="{_quotable(description)}"']
    if scope:
        params.append(f'scope="{scope}"')
    bearer = "Bearer " + ", ".join(params)
    dpop = "DPoP " + ", ".join([*params, f'algs="{" ".join(DPOP_ALGORITHMS)}"'])
    if scheme is None:
        response.headers.add("WWW-Authenticate", bearer)
        response.headers.add("WWW-Authenticate", dpop)
    else:
        response.headers["WWW-Authenticate"] = dpop if scheme == "DPoP" else bearer
    return response


def _quotable(text: str) -> str:
    """RFC 6750 §3: error_description is printable ASCII without ``"`` or ``\\``."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')
