"""``POST /documents``: the client's request, checked member by member before anything is stored.

Every refusal names the member and why (``invalid_request`` with ``error_description``). Texts
are what the citizen will read as the service's words, so they follow the bridge's display
rules (bridge-protocol.md §8): no control, format, separator or unassigned characters that
could make the screen show something else than it seems; only the summary may break lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidRequestError

from ..oidc.hygiene import VSCHAR
from ..storage.models import Client
from ..web.services import language_of
from .client_auth import ASSERTION_MEMBERS

TITLE_MAX = 120
SUMMARY_MAX = 1000
PDF_MAX = 10 * 1024 * 1024
"""Bytes of a submitted PDF, decoded."""
BODY_MAX = PDF_MAX * 4 // 3 + 64 * 1024
"""Bytes of the JSON body: the base64 PDF and the other members."""
EXPIRES_DEFAULT = 900
EXPIRES_MAX = 3600
STATE_MAX = 512
SUB_MAX = 64
MEMBERS = {"sub", "title", "summary", "pdf", "digest", "redirect_uri", "state", "expires_in",
           *ASSERTION_MEMBERS}  # fmt: skip
REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
BASE64URL_DIGEST = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
"""43 characters of canonical unpadded base64url for exactly 32 bytes."""
PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
TITLE_LANGUAGES = ("ja", "en")
"""The languages of the pages, and so of the titles a service may give besides ``title``:
``title#ja``, ``title#en`` (a BCP 47 tag after ``#``, as OIDC Registration §2.1 tags names)."""


@dataclass(frozen=True)
class Submission:
    sub: str
    title: str
    titles: dict[str, str]
    """The title per page language (``ja``, ``en``), where the service gave one."""
    summary: str
    digest: bytes
    pdf: bytes | None
    redirect_uri: str
    state: str | None
    expires_in: int


def refuse(description: str) -> InvalidRequestError:
    return InvalidRequestError(description=description)


def _text(body: dict, name: str, limit: int, lines: bool = False) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise refuse(f"{name} must be a string")
    value = value.strip()
    if not value:
        raise refuse(f"{name} must not be empty")
    if len(value) > limit:
        raise refuse(f"{name} must be at most {limit} characters")
    for character in value:
        if lines and character == "\n":
            continue
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            raise refuse(f"{name} must not contain control or invisible characters")
    return value


def _digest(value: object) -> bytes:
    if not isinstance(value, str) or not BASE64URL_DIGEST.fullmatch(value):
        raise refuse("digest must be the base64url (no padding) of a 32-byte SHA-256")
    return base64.urlsafe_b64decode(value + "=")


def _pdf(value: object) -> bytes:
    from .pades import UnreadablePdf, check_pdf  # pyHanko is loaded only for PDFs

    if not isinstance(value, str) or len(value) > BODY_MAX:
        raise refuse("pdf must be the base64 of a PDF of at most 10 MB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("pdf must be standard base64") from None
    if not data or len(data) > PDF_MAX:
        raise refuse("pdf must be the base64 of a PDF of at most 10 MB")
    try:
        check_pdf(data)
    except UnreadablePdf as error:
        raise refuse(str(error)) from None
    return data


def _expires_in(value: object) -> int:
    if value is None:
        return EXPIRES_DEFAULT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EXPIRES_MAX:
        raise refuse(f"expires_in must be an integer from 1 to {EXPIRES_MAX} (seconds)")
    return value


def _titles(body: dict) -> dict[str, str]:
    """``title#ja`` and ``title#en``, checked as ``title`` is; any other tag is refused."""
    titles: dict[str, str] = {}
    for key in sorted(key for key in body if key.startswith("title#")):
        language = language_of(key, "title")
        if language not in TITLE_LANGUAGES:
            shown = key if len(key) <= 40 and VSCHAR.fullmatch(key) else "title#"
            raise refuse(f"{shown}: a title's language tag must be ja or en")
        if language in titles:
            raise refuse(f"{key}: only one title per language")
        titles[language] = _text(body, key, TITLE_MAX)
    return titles


def parse(body: object, client: Client) -> Submission:
    """The checked submission, or ``InvalidRequestError`` saying which member is wrong."""
    if not isinstance(body, dict):
        raise refuse("the body must be a JSON object")
    unknown = sorted(key for key in set(body) - MEMBERS if not key.startswith("title#"))
    if unknown:
        shown = unknown[0] if 0 < len(unknown[0]) <= 40 and VSCHAR.fullmatch(unknown[0]) else ""
        raise refuse(f"unknown member: {shown}" if shown else "unknown member")  # RFC 6749 §5.2
    sub = body.get("sub")
    if not isinstance(sub, str) or len(sub) > SUB_MAX or not PRINTABLE_ASCII.fullmatch(sub):
        raise refuse("sub must be the subject identifier this client knows the citizen by")
    title = _text(body, "title", TITLE_MAX)
    titles = _titles(body)
    summary = _text(body, "summary", SUMMARY_MAX, lines=True)
    if ("pdf" in body) == ("digest" in body):
        raise refuse("send either pdf or digest, not both and not neither")
    pdf = _pdf(body["pdf"]) if "pdf" in body else None
    digest = hashlib.sha256(pdf).digest() if pdf is not None else _digest(body["digest"])
    redirect_uri = body.get("redirect_uri")
    if not isinstance(redirect_uri, str) or not client.check_redirect_uri(redirect_uri):
        raise refuse("redirect_uri must be one of the client's registered redirect URIs")
    state = body.get("state")
    if state is not None and (
        not isinstance(state, str) or len(state) > STATE_MAX or not PRINTABLE_ASCII.fullmatch(state)
    ):
        raise refuse(f"state must be printable ASCII of at most {STATE_MAX} characters")
    return Submission(
        sub, title, titles, summary, digest, pdf, redirect_uri, state,
        _expires_in(body.get("expires_in")),
    )  # fmt: skip


def for_bridge(text: str, limit: int) -> str:
    """``text`` as the bridge accepts it (one line, at most ``limit`` characters): the review
    page shows it in full, the bridge's screen a shortened copy."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
