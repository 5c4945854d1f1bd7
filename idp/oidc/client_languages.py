"""A client's name and purpose per language (OIDC Dynamic Client Registration §2.1: a
human-readable member followed by ``#`` and a BCP 47 tag, e.g. ``client_name#ja``), checked
like their untagged values and kept in the client's metadata; pages pick one by their language
(``idp.web.services``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from ..web.services import LOCALIZED_FIELDS, language_of
from .verified_claims import PURPOSE_LENGTH

MAX_NAME = 200
"""As the stored name (``oauth_client.name``)."""
MAX_TAGGED = 10
"""Language-tagged members a client may register, all fields together."""


class LanguageRejected(ValueError):
    """A language-tagged member that cannot be kept; the message names it."""


def tagged_members(data: Mapping[str, object]) -> dict[str, object]:
    """The members of a registration body that are language-tagged fields we keep."""
    return {k: v for k, v in data.items() if "#" in k and k.partition("#")[0] in LOCALIZED_FIELDS}


def check_tagged(members: Mapping[str, object]) -> dict[str, str]:
    """``members`` (``field#tag`` → text) checked: a field we keep, a well-formed tag, a text as
    its untagged field would need (a name of 1-200 printable characters; a purpose of 3-300
    without control characters), at most ``MAX_TAGGED``."""
    if len(members) > MAX_TAGGED:
        raise LanguageRejected(f"at most {MAX_TAGGED} language-tagged names and purposes")
    checked: dict[str, str] = {}
    for key, value in members.items():
        field = key.partition("#")[0]
        if field not in LOCALIZED_FIELDS or language_of(key, field) is None:
            raise LanguageRejected(f"{key} is not a name or purpose with a BCP 47 language tag")
        if not isinstance(value, str) or _controls(value):
            raise LanguageRejected(f"{key} must be a text without control characters")
        text = value.strip()
        low, high = (1, MAX_NAME) if field == "client_name" else PURPOSE_LENGTH
        if not low <= len(text) <= high:
            raise LanguageRejected(f"{key} must be a text of {low} to {high} characters")
        checked[key] = text
    return checked


def _controls(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)
