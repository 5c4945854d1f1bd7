"""Who may talk to the bridge: the Host check, the Origin allow-list, CORS and Private Network
Access.

- **Host** must be ``127.0.0.1:PORT`` or ``localhost:PORT``. A DNS-rebinding page reaches us under
  its own host name, which this refuses before anything else runs.
- **Origin** must be on the allow-list given with ``--allow-origin``, compared as the exact string
  the browser sends (scheme://host[:port], default port omitted). Only those origins get CORS
  headers, and only they get ``Access-Control-Allow-Private-Network: true`` in a preflight
  (https://wicg.github.io/private-network-access/). Everyone else gets 403 and no CORS, so the
  browser hides even the error from them.
- Allowed origins are ``https``, or ``http`` on a loopback host for development.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
DEFAULT_PORTS = {"http": 80, "https": 443}
ALLOWED_METHODS = "GET, POST, DELETE"
ALLOWED_HEADERS = "Content-Type"
EXPOSED_HEADERS = "Location, Retry-After"
PREFLIGHT_MAX_AGE = "600"


class OriginSyntaxError(ValueError):
    """An ``--allow-origin`` value that is not a plain web origin."""


def canonical_origin(text: str) -> str:
    """``scheme://host[:port]`` as browsers serialise it (RFC 6454 §6.2), or OriginSyntaxError.

    The IdP binds signatures to its origin in the same form (``idp.jpki.signature``; the bridge
    does not import the IdP's package); tests/bridge/test_origin_agreement.py holds the two
    together."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise OriginSyntaxError(f"{text!r} is not an origin") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if not text.isascii():
        raise OriginSyntaxError(f"{text!r}: give an internationalised host in punycode (xn--)")
    if scheme not in DEFAULT_PORTS or not host:
        raise OriginSyntaxError(f"{text!r}: an origin is http(s)://host[:port]")
    if (
        parts.username
        or parts.password
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise OriginSyntaxError(f"{text!r}: an origin has no user, path, query or fragment")
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise OriginSyntaxError(f"{text!r}: plain http is allowed only for 127.0.0.1 and localhost")
    if ":" in host:
        host = f"[{host}]"  # IPv6, as RFC 6454 serialises it (bridge-protocol.md §2)
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def host_allowed(host_header: str | None, port: int) -> bool:
    """The request's Host names us by a loopback name and our port (DNS-rebinding defence)."""
    if not host_header:
        return False
    allowed = {f"{host}:{port}" for host in LOOPBACK_HOSTS}
    if port == DEFAULT_PORTS["http"]:
        allowed |= set(LOOPBACK_HOSTS)
    return host_header.lower() in allowed


def own_origin(host_header: str) -> str:
    """The bridge's own origin as the browser sends it from the PIN page (Host already checked)."""
    return f"http://{host_header.lower()}"


def cors_headers(origin: str) -> dict[str, str]:
    """Headers that grant ``origin`` (already on the allow-list) access to one answer."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def preflight_headers(origin: str, private_network_requested: bool) -> dict[str, str]:
    """The answer to an allowed origin's OPTIONS preflight, PNA included when it was asked for."""
    headers = {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
    if private_network_requested:
        headers["Access-Control-Allow-Private-Network"] = "true"
    return headers
