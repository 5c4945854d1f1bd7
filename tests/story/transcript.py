"""A normalised record of HTTP exchanges: what a relying party, a browser and a citizen's card
would see, without the values that change from run to run.

Each exchange is recorded as its method, path, status, content type, the headers whose values are
behaviour (security and caching headers, a redirect's target, a challenge), and the body's shape:
JSON as its keys with values kept where they are words (error codes, token types, scopes, flags,
lifetimes) and masked where they are made fresh each time (identifiers, tokens, timestamps); an
HTML page as its title, its form fields and the actions its forms post to.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qsl, urlsplit

RUN = re.compile(r"[A-Za-z0-9_\-~.]*[A-Za-z0-9_\-~]{20,}[A-Za-z0-9_\-~.]*")
"""A run of 20+ token characters: an identifier, a token, a JWT, a digest or a nonce if it
holds a digit or both cases (a long protocol word such as ``client-assertion-type`` does not)."""
SERIAL = re.compile(r"\b[0-9A-F]{8,}\b")
FINGERPRINT = re.compile(r"\b[0-9A-F]{4}(?:-[0-9A-F]{4}){3}\b")
BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]{60,}")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
TEN_YEARS = 10 * 365 * 86400
KEPT_HEADERS = (
    "Cache-Control",
    "Content-Security-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Pragma",
    "Referrer-Policy",
    "Retry-After",
    "Strict-Transport-Security",
    "Vary",
    "WWW-Authenticate",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Content-Disposition",
)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
FIELD = re.compile(r'<(?:input|button|textarea|select)\b[^>]*\bname="([^"]+)"')
ACTION = re.compile(r'<form\b[^>]*\baction="([^"]*)"')


def _random(match: re.Match) -> str:
    run = match.group(0)
    mixed = any(c.isupper() for c in run) and any(c.islower() for c in run)
    return "<*>" if mixed or any(c.isdigit() for c in run) else run


def mask(text: str) -> str:
    """``text`` with fresh values replaced: tokens and identifiers by ``<*>``, base64 blobs by
    ``<base64>``, PEM by ``<pem>``, ISO 8601 times by ``<time>``, upper-case hex serials and
    fingerprints by ``<hex>``."""
    if "-----BEGIN" in text:
        return "<pem>"
    if BASE64.fullmatch(text) and not text.startswith("/") and not RUN.fullmatch(text):
        return "<base64>"
    text = ISO_TIME.sub("<time>", text)
    return SERIAL.sub("<hex>", FINGERPRINT.sub("<hex>", RUN.sub(_random, text)))


def url(location: str) -> str:
    """A URL with its path masked and its query as sorted ``name=value`` (values masked)."""
    parts = urlsplit(location)
    query = sorted((name, mask(value)) for name, value in parse_qsl(parts.query, True))
    base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    suffix = "?" + "&".join(f"{n}={v}" for n, v in query) if query else ""
    return base + mask(parts.path) + suffix


def shape(value: object) -> object:
    """JSON with fresh values masked; lists of scalars kept in order, objects sorted."""
    if isinstance(value, dict):
        return {key: shape(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return "<time>" if abs(value - time.time()) < TEN_YEARS else value
    return mask(str(value))


def headers(response) -> dict[str, str]:
    kept = {
        name: " | ".join(mask(value) for value in response.headers.getlist(name))
        for name in KEPT_HEADERS
        if name in response.headers
    }
    if "Location" in response.headers:
        kept["Location"] = url(response.headers["Location"])
    if "DPoP-Nonce" in response.headers:
        kept["DPoP-Nonce"] = "<present>"
    cookies = sorted(
        mask(cookie.split("=", 1)[0])
        + "".join("; " + attr.strip().split("=", 1)[0].lower() for attr in cookie.split(";")[1:])
        for cookie in response.headers.getlist("Set-Cookie")
    )
    if cookies:
        kept["Set-Cookie"] = cookies
    return kept


def body(response) -> object:
    kind = response.mimetype
    if kind in ("application/json", "application/jwk-set+json") or kind.endswith("+json"):
        return shape(response.get_json(force=True))
    if kind == "text/html":
        html = response.get_data(as_text=True)
        title = TITLE.search(html)
        return {
            "title": mask(" ".join(title.group(1).split())) if title else None,
            "fields": sorted(set(FIELD.findall(html))),
            "actions": sorted({url(action) for action in ACTION.findall(html)}),
        }
    data = response.get_data()
    return {"bytes": "empty" if not data else "some"}


class Transcript:
    """The exchanges of a story, in order, under the step names the story gives them."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.step = ""

    def record(self, method: str, path: str, response, note: str = "") -> None:
        entry = {
            "step": self.step + (f" ({note})" if note else ""),
            "request": f"{method} {url(path)}",
            "status": response.status_code,
            "content_type": response.headers.get("Content-Type"),
            "headers": headers(response),
            "body": body(response),
        }
        self.entries.append(entry)

    def dumps(self) -> str:
        return json.dumps(self.entries, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
