"""The bridge's result, as docs/bridge-protocol.md §5 (version 1) and §9 (version 2) define it.

Parsed strictly from untrusted JSON: every field present, of the right type and size, nothing
unknown; anything else is ``Malformed``. ``origin`` and ``challenge`` are echoes, used only to
explain a refusal (``origin_mismatch``, ``challenge_replayed``); verification never uses them.

Version 2 (``PairResult``) carries two signatures over the same challenge from one card session:
the authentication key's and the signing key's. Identity verification accepts only version 2; a
version-1 answer for it is ``BridgeOutdated``, never a single-key pass.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from idp.jpki.challenge import decode as decode_challenge
from idp.jpki.errors import BridgeOutdated, Malformed

VERSION = 1
ALGORITHM = "RS256"
FORMAT = "jpki-origin-challenge-v1"
PURPOSES = {"login", "identity"}
FIELDS = {"version", "purpose", "origin", "challenge", "certificate", "signature", "algorithm",
          "format"}  # fmt: skip
PAIR_VERSION = 2
PAIR_FORMAT = "jpki-origin-challenge-pair-v2"
"""Both keys sign the signed value of §4 for the same origin and challenge."""
PAIR_MEMBERS = {"authentication_certificate", "authentication_signature"}
"""What version 2 adds to a result: the authentication key's certificate and signature, beside
``certificate``/``signature``, which stay the signing key's."""
MAX_RESULT_BYTES = 16 * 1024
CERTIFICATE_MAX = 8192
SIGNATURE_MAX = 512


@dataclass(frozen=True)
class BridgeResult:
    purpose: str
    origin: str
    challenge: str
    certificate: bytes
    signature: bytes

    @classmethod
    def parse(cls, data: bytes | str | dict) -> BridgeResult:
        body = load_envelope(data, FIELDS, PURPOSES, FORMAT)
        decode_challenge(body["challenge"])
        return cls(
            purpose=body["purpose"],
            origin=body["origin"],
            challenge=body["challenge"],
            certificate=b64url(body["certificate"], CERTIFICATE_MAX),
            signature=b64url(body["signature"], SIGNATURE_MAX),
        )


@dataclass(frozen=True)
class KeyProof:
    """One key's certificate (DER) and signature, as the bridge returned them."""

    certificate: bytes
    signature: bytes


@dataclass(frozen=True)
class PairResult:
    """A version-2 ``identity`` result: both keys of one card signed the same challenge."""

    origin: str
    challenge: str
    authentication: KeyProof
    signing: KeyProof

    @classmethod
    def parse(cls, data: bytes | str | dict) -> PairResult:
        body = load_pair_envelope(data, FIELDS, {"identity"}, PAIR_FORMAT)
        decode_challenge(body["challenge"])
        authentication, signing = key_proofs(body)
        return cls(body["origin"], body["challenge"], authentication, signing)


def load_pair_envelope(
    data: bytes | str | dict, v1_fields: set[str], purposes: set[str], signed_format: str
) -> dict:
    """A version-2 result's shared members, checked; a version-1 answer is ``BridgeOutdated``
    (the page's bridge signs with one key only), anything else ``Malformed``."""
    body = load_object(data)
    if type(body.get("version")) is int and body["version"] == VERSION:
        raise BridgeOutdated("a version 1 bridge signs with one key; version 2 is required")
    return load_envelope(body, v1_fields | PAIR_MEMBERS, purposes, signed_format, PAIR_VERSION)


def key_proofs(body: dict) -> tuple[KeyProof, KeyProof]:
    """(authentication, signing) from a checked version-2 body."""
    return (
        KeyProof(
            b64url(body["authentication_certificate"], CERTIFICATE_MAX),
            b64url(body["authentication_signature"], SIGNATURE_MAX),
        ),
        KeyProof(
            b64url(body["certificate"], CERTIFICATE_MAX),
            b64url(body["signature"], SIGNATURE_MAX),
        ),
    )


def load_envelope(
    data: bytes | str | dict,
    fields: set[str],
    purposes: set[str],
    signed_format: str,
    version: int = VERSION,
) -> dict:
    """The members every result of ``version`` shares, checked: exact field set, an integer
    version, every other member a string (so nothing below meets a list or an object), purpose,
    algorithm, format and origin. The caller checks its own members' contents."""
    body = load_object(data)
    if set(body) != fields:
        raise Malformed(f"result fields are not exactly those of version {version} here")
    if type(body["version"]) is not int or body["version"] != version:
        raise Malformed("unsupported bridge protocol version")
    if not all(isinstance(body[name], str) for name in fields - {"version"}):
        raise Malformed("every member but version must be a string")
    if body["purpose"] not in purposes:
        raise Malformed(f"purpose must be one of {sorted(purposes)}")
    if body["algorithm"] != ALGORITHM or body["format"] != signed_format:
        raise Malformed("unsupported algorithm or signed-value format")
    if not isinstance(body["origin"], str) or len(body["origin"]) > 2048:
        raise Malformed("origin must be a string")
    return body


def load_object(data: bytes | str | dict) -> dict:
    """The result as a JSON object from untrusted input, within the size limit, or Malformed."""
    if isinstance(data, dict):
        return data
    if not isinstance(data, bytes | str) or len(data) > MAX_RESULT_BYTES:
        raise Malformed("result missing or too large")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise Malformed("result is not JSON") from None
    if not isinstance(body, dict):
        raise Malformed("result is not a JSON object")
    return body


def b64url(value: object, limit: int) -> bytes:
    """base64url without padding (RFC 4648 §5), canonical, at most ``limit`` decoded bytes."""
    if not isinstance(value, str) or not value or not value.isascii() or len(value) > limit * 2:
        raise Malformed("binary field is not a base64url string")
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("binary field is not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != value or len(raw) > limit:
        raise Malformed("binary field is not canonical base64url")
    return raw
