"""JSON from outside the IdP, parsed once at the boundary with limits on size and depth.

Python's ``json`` raises ``RecursionError`` (not ``ValueError``) on input nested about a
thousand deep, and accepts ``NaN`` and ``Infinity``; code below the boundary then walks whatever
arrived. Everything a request carries as JSON (the ``claims`` parameter, a registration body, a
document API body, the header and payload of a client assertion or DPoP proof) goes through
``load`` first, so the rest of the IdP meets only bounded, standard JSON.
"""

from __future__ import annotations

import base64
import binascii
import json

MAX_DEPTH = 16
"""Deepest nesting of arrays and objects accepted; the deepest real request (an OIDC4IDA
``verified_claims`` request with evidence and check details) needs about ten."""
MAX_JWS_BYTES = 8192


class UntrustedJsonError(ValueError):
    """The input is not JSON within the limits; the message says which limit, never the input."""


def load(text: str | bytes, max_bytes: int, max_depth: int = MAX_DEPTH) -> object:
    """The JSON value of ``text``: at most ``max_bytes`` long, nested at most ``max_depth``
    deep, without NaN or Infinity; ``UntrustedJsonError`` otherwise."""
    if not isinstance(text, str | bytes) or len(text) > max_bytes:
        raise UntrustedJsonError(f"is not JSON of at most {max_bytes} bytes")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise UntrustedJsonError("is not JSON") from None
    if depth(value) > max_depth:
        raise UntrustedJsonError(f"is nested deeper than {max_depth}")
    return value


def depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            members = item.values() if isinstance(item, dict) else item
            stack.extend((member, level + 1) for member in members)
    return deepest


def compact_jws_ok(token: object, max_bytes: int = MAX_JWS_BYTES) -> bool:
    """Whether ``token`` is a compact JWS whose header and payload are JSON objects within the
    limits: checked before a JOSE library parses it, so none of its parsing meets deep input."""
    if not isinstance(token, str) or len(token) > max_bytes or token.count(".") != 2:
        return False
    header, payload, _ = token.split(".")
    try:
        return all(isinstance(load(_b64url(part), max_bytes), dict) for part in (header, payload))
    except (UntrustedJsonError, binascii.Error, ValueError):
        return False


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
