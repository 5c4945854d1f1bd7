"""The request as the IdP sees it behind a TLS-terminating proxy (docs/operators.md §5).

Two rules, applied to every request before Flask sees it (``IssuerOrigin``, the outermost WSGI
layer):

- **Scheme and host come from the configured issuer**, never from the request. The proxy
  forwards ``Host`` as the browser sent it and speaks plain http to the IdP; Authlib builds the
  request URI from both and refuses http (``InsecureTransportError``), and anything else that
  built a URL from them would let a forged ``Host`` header steer it. So ``wsgi.url_scheme``,
  ``HTTP_HOST``, ``SERVER_NAME`` and ``SERVER_PORT`` are the issuer's: a foreign ``Host`` is
  ignored, never an error.
- **The client address** (``REMOTE_ADDR``, which rate limits and logs use) is taken from
  ``X-Forwarded-For`` only when the connection comes from an address in ``[proxy] trusted``,
  walking the header from the right past further trusted proxies to the first address that is
  not one (the semantics of nginx's ``real_ip_recursive`` and gunicorn's
  ``forwarded_allow_ips``). Every ``X-Forwarded-*`` and ``Forwarded`` header is then removed,
  so no later code can trust one by mistake. The socket's own peer stays in
  ``environ["idp.proxy.peer"]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_SERVER",
)


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``[proxy] trusted`` as networks; a single address is a /32 (/128). ValueError if bad."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, then the rightmost address
    of ``forwarded_for`` that is not a trusted proxy (or the leftmost valid one if all are).
    An entry that is not an address stops the walk at the proxy that forwarded it."""

    def is_trusted(address: Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    client = peer
    if not is_trusted(_address(peer)):
        return client
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break
        client = str(address)
        if not is_trusted(address):
            break
    return client


class IssuerOrigin:
    """WSGI middleware: the issuer's scheme and host, the client's address (module docstring)."""

    def __init__(self, app, issuer: str, trusted: tuple[Network, ...]) -> None:
        parts = urlsplit(issuer)
        default_port = 443 if parts.scheme == "https" else 80
        self.app = app
        self.trusted = trusted
        self.origin = {
            "wsgi.url_scheme": parts.scheme,
            "HTTP_HOST": parts.netloc,
            "SERVER_NAME": parts.hostname or "",
            "SERVER_PORT": str(parts.port or default_port),
        }

    def __call__(self, environ, start_response):
        # A copy: the server's own view of the request (and a test client's cookie jar, keyed
        # by the host it asked) stays as it was.
        environ = {**environ, **self.origin}
        peer = environ.get("REMOTE_ADDR") or ""
        environ["idp.proxy.peer"] = peer
        environ["REMOTE_ADDR"] = client_address(
            peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
        )
        for name in FORWARDED_HEADERS:
            environ.pop(name, None)
        return self.app(environ, start_response)
