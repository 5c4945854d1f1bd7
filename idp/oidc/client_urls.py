"""Requesting a URL that a client registered, without letting the client aim the IdP inward.

``jwks_uri``, ``sector_identifier_uri`` and ``backchannel_logout_uri`` are chosen by the relying
party and requested by the IdP from inside its network: a server-side request forgery surface
(OWASP SSRF Prevention Cheat Sheet). Every such URL is checked when it is registered (``check``)
and again at every request (``get_json``, ``post_form``), because DNS answers change. A request
resolves the host once, refuses it unless every address is a public unicast one, and connects
to one of the addresses it checked: a rebinding answer between check and connect reaches nothing.

Refused addresses: loopback, private (RFC 1918, shared 100.64.0.0/10), link-local, unique-local
(fc00::/7), multicast, unspecified, reserved and other non-global ranges, IPv6 forms embedding
a refused IPv4 address (mapped, 6to4, NAT64), and the cloud metadata addresses (``METADATA``).
Loopback, and http to a loopback host, only with ``client_urls.allow_loopback``: the tests' and
the demo's relying parties run on 127.0.0.1; production refuses the setting.

Every request: no proxy from the environment, no redirects, ``CONNECT_TIMEOUT`` and
``READ_TIMEOUT`` per step and ``DEADLINE`` for the whole exchange, ``MAX_BYTES`` of body at most.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection

from . import untrusted_json

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
DEADLINE = 10.0
"""Seconds for a whole exchange, however slowly the other side answers."""
MAX_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Google Cloud, Azure, OpenStack, …
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure's platform address (public, yet the host's own)
        "192.0.0.192",  # Oracle Cloud
    )
)
"""Cloud instance metadata services: credentials of the machine the IdP runs on."""
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


class ClientUrlError(Exception):
    """The URL cannot be used now; the message says why (never the response's content)."""


class UrlRefused(ClientUrlError):
    """The URL or an address its host resolves to is one the IdP must not request."""


def refusal(address: Address, allow_loopback: bool = False) -> str | None:
    """Why the IdP must not connect to ``address``; None for a public unicast address."""
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded, allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    kinds = (
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unique-local", address in UNIQUE_LOCAL),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not publicly routable", not address.is_global),
    )
    return next((f"a {kind} address" for kind, hit in kinds if hit), None)


def addresses(host: str, port: int, allow_loopback: bool = False) -> list[str]:
    """The addresses ``host`` resolves to, all of them allowed, or ``UrlRefused``."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ClientUrlError(f"host {host!r} does not resolve") from None
    found = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    for text in found:
        reason = refusal(ipaddress.ip_address(text.partition("%")[0]), allow_loopback)
        if reason:
            raise UrlRefused(f"host {host!r} resolves to {text}, {reason}")
    if not found:
        raise ClientUrlError(f"host {host!r} does not resolve")
    return found


def check(uri: str, allow_loopback: bool = False) -> None:
    """At registration: ``uri`` is absolute https (http to loopback only where allowed) and its
    host resolves to allowed addresses only. ``ClientUrlError`` says what is wrong."""
    _target(uri, allow_loopback)
    parts = urlsplit(uri)
    addresses(parts.hostname or "", parts.port or _PORTS[parts.scheme], allow_loopback)


def get_json(uri: str, allow_loopback: bool = False) -> object:
    """The JSON document a 200 answer to ``GET uri`` holds; ``ClientUrlError`` otherwise."""
    with _session(allow_loopback) as session:
        answer = _send(session, "GET", uri, allow_loopback, headers={"Accept": "application/json"})
        with answer:
            body = _body(answer)
    if answer.status_code != 200:
        raise ClientUrlError(f"HTTP {answer.status_code}")
    try:
        return untrusted_json.load(body, MAX_BYTES)
    except untrusted_json.UntrustedJsonError as e:
        raise ClientUrlError(f"the answer {e}") from None


def post_form(uri: str, form: dict[str, str], allow_loopback: bool = False) -> int:
    """POST ``form`` to ``uri``; the answer's status code (its body is read, up to the limit)."""
    with _session(allow_loopback) as session:
        answer = _send(session, "POST", uri, allow_loopback, data=form)
        with answer:
            _body(answer)
    return answer.status_code


def post(
    uri: str, body: bytes, headers: dict[str, str], allow_loopback: bool = False
) -> tuple[int, bytes]:
    """POST ``body`` with ``headers`` to ``uri``; the answer's status code and body (up to the
    limit): for receivers that explain a refusal in the body (RFC 8935 §2.3)."""
    with _session(allow_loopback) as session:
        answer = _send(session, "POST", uri, allow_loopback, data=body, headers=headers)
        with answer:
            return answer.status_code, _body(answer)


_PORTS = {"https": 443, "http": 80}
LOOPBACK_NAMES = ("localhost",)


def _target(uri: str, allow_loopback: bool) -> None:
    """The URL's shape: absolute, no credentials or fragment, https (or http to loopback)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except (ValueError, TypeError, AttributeError):
        raise UrlRefused("not a valid URL") from None
    if parts.scheme not in _PORTS or not parts.hostname or parts.fragment or "#" in uri:
        raise UrlRefused("must be an absolute https URL without fragment")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("must not carry credentials")
    if parts.scheme == "http" and not (allow_loopback and _loopback_host(parts.hostname)):
        raise UrlRefused("must use https")


def _loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _send(session: requests.Session, method: str, uri: str, allow_loopback: bool, **kwargs):
    _target(uri, allow_loopback)
    headers = {"Accept-Encoding": "identity", **kwargs.pop("headers", {})}
    try:
        return session.request(
            method,
            uri,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
            stream=True,
            **kwargs,
        )
    except requests.RequestException as e:
        raise ClientUrlError(f"unreachable ({type(e).__name__})") from None


def _body(answer: requests.Response) -> bytes:
    """At most MAX_BYTES, read within DEADLINE of the request's start (give or take one
    READ_TIMEOUT: a read waits at most that long for the next bytes)."""
    deadline = time.monotonic() + DEADLINE - answer.elapsed.total_seconds()
    if int(answer.headers.get("Content-Length") or 0) > MAX_BYTES:
        raise ClientUrlError(f"the answer is larger than {MAX_BYTES} bytes")
    body = bytearray()
    try:
        while chunk := answer.raw.read1(8192, decode_content=False):  # what has arrived
            body += chunk
            if len(body) > MAX_BYTES:
                raise ClientUrlError(f"the answer is larger than {MAX_BYTES} bytes")
            if time.monotonic() > deadline:
                raise ClientUrlError(f"the answer took longer than {DEADLINE:g} seconds")
    except (requests.RequestException, OSError, ValueError) as e:
        raise ClientUrlError(f"the answer broke off ({type(e).__name__})") from None
    return bytes(body)


def _session(allow_loopback: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: it would be the one checked
    adapter = _CheckedAdapter(allow_loopback)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _connect(conn: HTTPConnection) -> socket.socket:
    """The socket to a checked address of the connection's host (resolved once, here)."""
    failure: OSError | None = None
    for address in addresses(conn.host, conn.port, conn.allow_loopback):  # type: ignore[attr-defined]
        try:
            return connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as e:
            failure = e
    raise NewConnectionError(conn, f"Failed to establish a new connection: {failure}")


class _Checked:
    """A urllib3 connection whose socket goes to a checked address (``_connect``)."""

    def __init__(self, *args, allow_loopback: bool = False, **kwargs) -> None:
        self.allow_loopback = allow_loopback
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return _connect(self)


class _CheckedHTTPConnection(_Checked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_Checked, HTTPSConnection):
    """TLS to the host's name (SNI, certificate check) over a socket to a checked address."""


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    """requests' adapter whose connections go only to addresses ``addresses`` allowed."""

    def __init__(self, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": functools.partial(_CheckedHTTPPool, allow_loopback=self.allow_loopback),
            "https": functools.partial(_CheckedHTTPSPool, allow_loopback=self.allow_loopback),
        }
