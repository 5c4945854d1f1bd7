"""How a page names a service and states its purpose in the page's language, and leads back to
the service when its login or consent has ended.

A client may register its human-readable metadata per language, as OIDC Dynamic Client
Registration §2.1 allows: ``client_name#ja``, ``client_name#en``, ``purpose#ja`` … (a BCP 47
tag after ``#``), kept in its stored metadata beside the untagged value. A page shows the value
whose tag's language is the page's, else the untagged one, which pages and records also keep
(consents, access records and documents store the name they were given, and show it when the
client is gone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import g, session
from flask_babel import get_locale
from sqlalchemy import bindparam, select

from ..services import Service
from ..services import services as app_services
from ..storage.db import db
from ..storage.models import Client

SERVICE = "service"
"""The session member naming the client this browser last came from (``remember``)."""
LOCALIZED_FIELDS = ("client_name", "purpose")
"""The metadata a client may give per language."""
TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")
"""A BCP 47 language tag, as far as a page needs one: the language and a few subtags."""


def language_of(key: str, field: str) -> str | None:
    """The primary language (lower case) of ``field#tag``, or None if ``key`` is not one."""
    base, sep, tag = key.partition("#")
    if base != field or not sep or not TAG.fullmatch(tag):
        return None
    return tag.split("-")[0].lower()


def pick(metadata: Mapping[str, object], field: str, language: str) -> str | None:
    """``field`` in ``language`` from a client's metadata, if it registered one."""
    for key, value in metadata.items():
        if isinstance(value, str) and value.strip() and language_of(key, field) == language:
            return value
    return None


def localized(client_id: str, field: str, fallback: str | None) -> str | None:
    """What a page shows for the client's ``field``: its value in the page's language where
    ``fallback``, the value the caller holds, is the client's untagged one (or None); else
    ``fallback``, which is then another text (a request's own purpose, a name kept by a record
    of a client since renamed). One lookup per client and request."""
    metadata = _metadata(client_id)
    if fallback is not None and fallback != metadata.get(field):
        return fallback
    found = pick(metadata, field, str(get_locale() or "ja"))
    return found if found is not None else fallback


def in_language(titles: str | None, fallback: str) -> str:
    """A document's title in the page's language from its stored ``titles`` (JSON, language to
    text), else ``fallback``, the untagged title."""
    found = json.loads(titles).get(str(get_locale() or "ja")) if titles else None
    return found if isinstance(found, str) and found else fallback


def _metadata(client_id: str) -> dict:
    cache = g.setdefault("idp_client_metadata", {})
    if client_id not in cache:
        found = app_services()[CLIENT_METADATA](client_id)
        cache[client_id] = dict(found) if found is not None else {}
    return cache[client_id]


def stored_metadata(client_id: str) -> Mapping[str, object] | None:
    """The client's metadata as stored now, or None when there is no such client."""
    client = db.session.execute(_CLIENT_BY_ID, {"client_id": client_id}).scalar_one_or_none()
    return client.client_metadata if client is not None else None


_CLIENT_BY_ID = select(Client).where(Client.client_id == bindparam("client_id"))

CLIENT_METADATA: Service[Callable[[str], Mapping[str, object] | None]] = Service(
    "client metadata", default=lambda: stored_metadata
)
"""Where pages read a client's metadata (``localized``, ``way_back``): the database by
default; the protocol layer registers its per-process client snapshot, which its endpoints
already keep, so that a login page asks the database nothing."""


def remember(client_id: str) -> None:
    """This browser came from ``client_id`` (an authorization request that named it and one
    of its redirect URIs): a login or consent page that ended can lead back there."""
    if session.get(SERVICE) != client_id:
        session[SERVICE] = client_id


@dataclass(frozen=True)
class WayBack:
    name: str
    url: str


def way_back() -> WayBack | None:
    """Where a page whose login or consent has ended sends the person: the service this browser
    came from, at its registered ``client_uri``, else the origin of its first redirect URI.
    None when no service is known."""
    client_id = session.get(SERVICE)
    metadata = _metadata(client_id) if isinstance(client_id, str) else {}
    if not metadata:
        return None
    uris = [metadata.get("client_uri"), *(metadata.get("redirect_uris") or [])[:1]]
    for uri in uris:
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if parts and parts.netloc and parts.scheme in ("https", "http"):
            url = uri if uri == metadata.get("client_uri") else f"{parts.scheme}://{parts.netloc}/"
            name = localized(client_id, "client_name", metadata.get("client_name"))
            return WayBack(name=str(name or parts.netloc), url=url)
    return None
