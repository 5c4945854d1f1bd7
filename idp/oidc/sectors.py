"""Pairwise sectors (OIDC Core §8.1): which host a client's pairwise subjects are computed for.

With a ``sector_identifier_uri`` the OP must fetch it and check that it lists every redirect URI
of the client, so one party cannot claim another's sector and correlate its users. Without one,
all redirect URIs must share a single host, which is then the sector.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

TIMEOUT = 5
MAX_BYTES = 64 * 1024
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")


class SectorRejected(ValueError):
    """The sector cannot be established; the message says why."""


def sector_of(redirect_uris: list[str], sector_identifier_uri: str | None, production: bool) -> str:
    """The sector host, after verifying the sector_identifier_uri document if there is one."""
    if not sector_identifier_uri:
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if len(hosts) != 1:
            raise SectorRejected("redirect URIs on several hosts need a sector_identifier_uri")
        return hosts.pop() or ""
    parts = urlsplit(sector_identifier_uri)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and not production and parts.hostname in LOOPBACK
    )
    if not secure or not parts.hostname:
        raise SectorRejected("sector_identifier_uri must be an https URL")
    listed = _fetch(sector_identifier_uri)
    missing = [u for u in redirect_uris if u not in listed]
    if missing:
        raise SectorRejected("sector_identifier_uri does not list every redirect URI")
    return parts.hostname


def _fetch(uri: str) -> list[str]:
    """The JSON array of redirect URIs at ``uri``; refused when unreachable, large or malformed."""
    try:
        answer = requests.get(uri, timeout=TIMEOUT, allow_redirects=False)
        ok = answer.status_code == 200 and len(answer.content) <= MAX_BYTES
        document = answer.json() if ok else None
    except (requests.RequestException, ValueError):
        document = None
    if not isinstance(document, list) or not all(isinstance(u, str) for u in document):
        raise SectorRejected("sector_identifier_uri did not return a JSON array of URIs")
    return document
