"""Pairwise sectors (OIDC Core §8.1): which host a client's pairwise subjects are computed for.

With a ``sector_identifier_uri`` the OP must fetch it and check that it lists every redirect URI
of the client, so one party cannot claim another's sector and correlate its users. Without one,
all redirect URIs must share a single host, which is then the sector.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from . import client_urls


class SectorRejected(ValueError):
    """The sector cannot be established; the message says why."""


def sector_of(
    redirect_uris: list[str], sector_identifier_uri: str | None, allow_loopback: bool = False
) -> str:
    """The sector host, after verifying the sector_identifier_uri document if there is one
    (fetched through ``client_urls``: public addresses only unless ``allow_loopback``)."""
    if not sector_identifier_uri:
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if len(hosts) != 1:
            raise SectorRejected("redirect URIs on several hosts need a sector_identifier_uri")
        return hosts.pop() or ""
    if not isinstance(sector_identifier_uri, str):
        raise SectorRejected("sector_identifier_uri must be a string")
    try:
        listed = client_urls.get_json(sector_identifier_uri, allow_loopback)
    except client_urls.UrlRefused as e:
        raise SectorRejected(f"sector_identifier_uri {e}") from None
    except client_urls.ClientUrlError as e:
        listed, why = None, f" ({e})"
    else:
        why = ""
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise SectorRejected(f"sector_identifier_uri did not return a JSON array of URIs{why}")
    missing = [u for u in redirect_uris if u not in listed]
    if missing:
        raise SectorRejected("sector_identifier_uri does not list every redirect URI")
    return urlsplit(sector_identifier_uri).hostname or ""
