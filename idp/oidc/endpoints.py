"""Absolute URLs of this IdP's endpoints, under the issuer.

The issuer, not the request's host, is what clients, DPoP proofs (RFC 9449 §4.3 ``htu``) and
client assertions (RFC 7523 ``aud``) name, so every absolute URL the IdP compares or hands out is
built here; behind the TLS proxy the issuer's origin is also what ``proxy.IssuerOrigin`` makes
each request carry.
"""

from __future__ import annotations

from flask import url_for

from ..services import services


def issuer_url(path: str, issuer: str | None = None) -> str:
    """``path`` (absolute, starting with ``/``) under ``issuer``, by default the current app's."""
    issuer = services().config.issuer if issuer is None else issuer
    return issuer.rstrip("/") + path


def endpoint_url(name: str, /, *, issuer: str | None = None, **values) -> str:
    """The absolute URL of endpoint ``name`` (``url_for``'s name and values) under ``issuer``, by
    default the current app's (discovery describes the configuration it is given)."""
    return issuer_url(url_for(name, **values), issuer)
