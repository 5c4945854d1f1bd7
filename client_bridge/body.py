"""The JSON bodies that start an operation, parsed into an :class:`operation.Request`.

``POST /v1/authenticate`` takes ``{"challenge", "service"[, "version"]}``; ``POST /v1/sign``
takes the same for identity verification, or ``{"purpose": "document", "digest", "title",
"summary", "service"[, "version"]}`` for a document (bridge-protocol.md §8). Every member is
checked here, before the card or the one-operation lock is touched, and an unknown, missing or
bad member is a ``bad_request`` naming the member: a bad body starts nothing.

``"version": 2`` at ``/v1/sign`` asks for the two-key operation (bridge-protocol.md §9) with the
same members: identity verification or a document, signed by both keys of the card.

``"lang"`` (optional, ``"ja"`` or ``"en"``) is the language the person chose on the page, which
the PIN window then speaks.
"""

from __future__ import annotations

from typing import Any

from client_bridge import errors, messages, protocol
from client_bridge.operation import Document, Request
from client_bridge.pin import KeyKind

CHALLENGE_FIELDS = frozenset({"challenge", "service"})
DOCUMENT_FIELDS = frozenset({"purpose", "digest", "title", "summary", "service"})
OPTIONAL = frozenset({"version", "lang"})


def parse(kind: KeyKind, body: object, origin: str) -> Request:
    """The request for ``kind``'s endpoint; ``origin`` is the checked ``Origin`` header."""
    if not isinstance(body, dict):
        raise errors.BadRequest("the body must be a JSON object")
    pair = _version(body) == protocol.PAIR_VERSION
    if pair and kind is not KeyKind.SIGN:
        raise errors.BadRequest("version 2 (both keys) is asked for at /v1/sign", field="version")
    if body.get("purpose", protocol.DOCUMENT_PURPOSE) != protocol.DOCUMENT_PURPOSE:
        raise errors.BadRequest('"purpose" is given only as "document"', field="purpose")
    if "purpose" in body:
        if kind is not KeyKind.SIGN:
            raise errors.BadRequest("documents are signed at /v1/sign", field="purpose")
        _check_members(body, DOCUMENT_FIELDS)
        return Request(kind, origin, None, protocol.parse_service(body["service"]),
                       _document(body), pair=pair, lang=_lang(body))  # fmt: skip
    _check_members(body, CHALLENGE_FIELDS)
    return Request(
        kind=kind,
        origin=origin,
        challenge=protocol.parse_challenge(body["challenge"]),
        service=protocol.parse_service(body["service"]),
        pair=pair,
        lang=_lang(body),
    )


def _lang(body: dict[str, Any]) -> str | None:
    """The page's chosen language for the PIN window, when it says one."""
    lang = body.get("lang")
    if lang is not None and lang not in messages.LANGUAGES:
        raise errors.BadRequest(f"lang is one of {list(messages.LANGUAGES)}", field="lang")
    return lang


def _version(body: dict[str, Any]) -> int:
    version = body.get("version", protocol.VERSION)
    if version not in protocol.VERSIONS or isinstance(version, bool):
        raise errors.BadRequest(
            f"this bridge speaks protocol versions {list(protocol.VERSIONS)}", field="version"
        )
    return version


def _check_members(body: dict[str, Any], required: frozenset[str]) -> None:
    """Exactly ``required`` plus the optional ones; the first offender is named."""
    unknown = sorted(set(body) - required - OPTIONAL)
    if unknown:
        raise errors.BadRequest(f"unknown member {unknown[0]!r}", field=unknown[0])
    missing = sorted(required - set(body))
    if missing:
        raise errors.BadRequest(f"missing member {missing[0]!r}", field=missing[0])


def _document(body: dict[str, Any]) -> Document:
    return Document(
        digest=protocol.parse_digest(body["digest"]),
        title=protocol.parse_display_text(body["title"], "title", protocol.TITLE_MAX),
        summary=protocol.parse_display_text(body["summary"], "summary", protocol.SUMMARY_MAX),
    )
