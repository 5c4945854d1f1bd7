"""A J-LIS-like linkage record: which certificate replaced which, for the same holder and type.

When a certificate is renewed, a card reissued or the signing certificate replaced after a move
or a change of name (:mod:`sandbox.lifecycle`), J-LIS knows that the new certificate belongs to
the holder of the old one, and tells verifiers the link between old and new serial numbers. Its
real interface is not public; this models one (docs/jpki.md §11):

- ``STATE/linkage/links.jsonl``: one link a line (``seq``, ``cert_type``, ``issuer``,
  ``issuer_hash``, ``old_serial``, ``new_serial``, ``event`` of ``renew``, ``reissue``, ``move``,
  ``rename``, ``reason``, ``linked_at``). No card id and no personal data.
- ``GET /linkage?serial=HEX&type=auth|sign&nonce=X`` (:mod:`sandbox.revocation_app`) answers a
  compact JWS signed by the revocation feed's certificate (``typ`` :data:`ANSWER_TYPE`) whose
  payload holds the serial asked about, ``links`` (each replacement from that serial onwards)
  and ``current``: the serial(s) the holder's certificate of that type now has, none when the
  chain ends in a revoked certificate that nothing replaced. A serial the CA never issued is 404.
- ``GET /linkage/feed?after=CURSOR&limit=N&nonce=X``: every link, in signed pages exactly as the
  revocation feed's (:func:`sandbox.feed.page_payload`, ``typ`` :data:`FEED_TYPE`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptography import x509

from sandbox.feed import FeedRequestError

ANSWER_TYPE = "jpki-linkage+jws"
FEED_TYPE = "jpki-linkage-feed+jws"
EVENTS = ("renew", "reissue", "move", "rename")
_SERIAL = re.compile(r"[0-9A-Fa-f]{1,40}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,128}")


class UnknownSerial(LookupError):
    """A serial the CA never issued: the HTTP answer is 404."""


def linkage_dir(root: Path) -> Path:
    return Path(root) / "linkage"


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[Path]:
    folder = linkage_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder / "links.jsonl"


def append(
    root: Path,
    *,
    issuer: x509.Name,
    cert_type: str,
    old_serial: int,
    new_serial: int,
    event: str,
    reason: str,
    at: dt.datetime,
) -> int:
    """Record that ``new_serial`` replaced ``old_serial``; returns the link's sequence number."""
    if event not in EVENTS:
        raise ValueError(f"not a linkage event: {event!r}")
    with _locked(root) as path:
        seq = 1 + (sum(1 for _ in path.open("rb")) if path.is_file() else 0)
        link = {
            "seq": str(seq),
            "cert_type": cert_type,
            "issuer": issuer.rfc4514_string(),
            "issuer_hash": hashlib.sha256(issuer.public_bytes()).hexdigest(),
            "old_serial": f"{old_serial:X}",
            "new_serial": f"{new_serial:X}",
            "event": event,
            "reason": reason,
            "linked_at": at.astimezone(dt.UTC).isoformat(),
        }
        with path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(link, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        return seq


def links(root: Path) -> list[dict]:
    """Every link so far, in order."""
    path = linkage_dir(root) / "links.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def answer_payload(
    root: Path,
    serial: str | None,
    cert_type: str | None,
    nonce: str | None,
    *,
    statuses: Mapping[str, Mapping[int, str]],
    now: dt.datetime,
    issuer: str,
) -> dict:
    """The payload for one lookup. ``statuses``: per certificate type, serial -> registry status.
    FeedRequestError for a malformed request, UnknownSerial for a serial never issued."""
    if cert_type not in statuses:
        raise FeedRequestError("type must be auth or sign")
    if serial is None or not _SERIAL.fullmatch(serial):
        raise FeedRequestError("serial must be the certificate's serial number in hexadecimal")
    if nonce is not None and not _NONCE.fullmatch(nonce):
        raise FeedRequestError("nonce must be 1 to 128 base64url characters")
    asked = int(serial, 16)
    known = statuses[cert_type]
    if asked not in known:
        raise UnknownSerial(f"no {cert_type} certificate with serial {asked:X} was issued")
    chain, current = _follow(root, cert_type, asked, known)
    payload = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "serial": f"{asked:X}",
        "cert_type": cert_type,
        "links": chain,
        "current": current,
    }
    if nonce is not None:
        payload["nonce"] = nonce
    return payload


def _follow(
    root: Path, cert_type: str, serial: int, known: Mapping[int, str]
) -> tuple[list[dict], list[str]]:
    """The links from ``serial`` onwards, and the serials at their ends not revoked."""
    by_old: dict[str, list[dict]] = {}
    for link in links(root):
        if link["cert_type"] == cert_type:
            by_old.setdefault(link["old_serial"], []).append(link)
    chain: list[dict] = []
    current: list[str] = []
    todo, seen = [f"{serial:X}"], set()
    while todo:
        at = todo.pop(0)
        if at in seen:
            continue
        seen.add(at)
        following = by_old.get(at, [])
        chain += following
        todo += [link["new_serial"] for link in following]
        if not following and known.get(int(at, 16)) != "revoked":
            current.append(at)
    return chain, current
