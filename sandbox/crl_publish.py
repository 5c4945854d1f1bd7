"""Publishing the CA's full and delta CRLs from its registry, to files and to the HTTP service.

See :mod:`sandbox.crl` for what the CRLs hold and where the files go; import from there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from sandbox.crl_build import FULL_VALIDITY, CrlEntry, make_crl
from sandbox.profiles import CertKind
from sandbox.state import RegistryEntry, SandboxState, write_atomic

DELTA_VALIDITY = dt.timedelta(hours=1)
"""nextUpdate - thisUpdate of a delta CRL."""
BASE_INTERVAL = dt.timedelta(hours=24)
DELTA_INTERVAL = dt.timedelta(seconds=15)
"""How often the HTTP service publishes the CRLs again when nothing changed (a change is
published on the next request): a poller sees a delta at most this old, well within the IdP's
``status_interval`` of 60 s (``jpki-sandbox serve --delta-interval``)."""
"""How long a full CRL serves as the base of the deltas before a newer one replaces it."""


# --- from the registry -----------------------------------------------------------------------


def registry_entries(
    registry: Mapping[int, RegistryEntry], *, now: dt.datetime
) -> dict[int, CrlEntry]:
    """What a full CRL lists at ``now``: revoked and held certificates that have not expired."""
    listed = {}
    for serial, entry in registry.items():
        if entry.status == "good" or dt.datetime.fromisoformat(entry.not_after) < now:
            continue
        if entry.status == "hold":
            reason: x509.ReasonFlags | None = x509.ReasonFlags.certificate_hold
        else:
            reason = x509.ReasonFlags(entry.reason) if entry.reason else None
            if reason is x509.ReasonFlags.unspecified:
                reason = None  # RFC 5280 §5.3.1: absent rather than unspecified
        revoked_at = dt.datetime.fromisoformat(entry.revoked_at or now.isoformat())
        listed[serial] = CrlEntry(serial, revoked_at.replace(microsecond=0), reason)
    return listed


def delta_entries(base: Mapping[int, CrlEntry], current: Mapping[int, CrlEntry]) -> list[CrlEntry]:
    """What changed since ``base`` (RFC 5280 §5.2.4): new or changed entries, then removals."""
    changed = [entry for serial, entry in sorted(current.items()) if base.get(serial) != entry]
    removed = [
        CrlEntry(serial, entry.revoked_at, x509.ReasonFlags.remove_from_crl)
        for serial, entry in sorted(base.items())
        if serial not in current
    ]
    return changed + removed


# --- publishing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """The CA's current full and delta CRLs (DER) and their numbers."""

    kind: CertKind
    full: bytes
    delta: bytes
    full_number: int
    delta_number: int
    base_number: int
    this_update: dt.datetime


def crl_dir(state: SandboxState) -> Path:
    return state.root / "crl"


def crl_path(state: SandboxState, kind: CertKind, *, delta: bool = False) -> Path:
    """``STATE/crl/auth.crl``, ``STATE/crl/auth-delta.crl``, …"""
    return crl_dir(state) / (f"{kind}-delta.crl" if delta else f"{kind}.crl")


@contextlib.contextmanager
def _locked(state: SandboxState, kind: CertKind) -> Iterator[Path]:
    folder = state.root / "ca" / kind
    with (folder / ".crl.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


def _next_number(folder: Path) -> int:
    path = folder / "crlnumber"
    number = int(path.read_text().strip(), 16) + 1 if path.is_file() else 1
    text = f"{number:X}"
    write_atomic(path, f"{'0' * (len(text) % 2)}{text}\n".encode())
    return number


def next_crl_number(state: SandboxState, kind: CertKind) -> int:
    """Take the next number of the CA's one CRL sequence (full and delta share it, §5.2.3)."""
    with _locked(state, kind) as folder:
        return _next_number(folder)


def _entries_json(entries: Mapping[int, CrlEntry]) -> dict[str, list[str | None]]:
    return {
        f"{s:X}": [e.revoked_at.isoformat(), e.reason.value if e.reason else None]
        for s, e in entries.items()
    }


def _entries_from_json(raw: Mapping[str, list[str | None]]) -> dict[int, CrlEntry]:
    return {
        int(serial, 16): CrlEntry(
            int(serial, 16),
            dt.datetime.fromisoformat(str(at)),
            x509.ReasonFlags(reason) if reason else None,
        )
        for serial, (at, reason) in raw.items()
    }


def _cached(
    state: SandboxState,
    kind: CertKind,
    digest: str,
    now: dt.datetime,
    base: dict | None,
    delta_interval: dt.timedelta | None = None,
) -> Published | None:
    meta_path = crl_dir(state) / f"{kind}.json"
    full_path, delta_path = crl_path(state, kind), crl_path(state, kind, delta=True)
    if not (meta_path.is_file() and full_path.is_file() and delta_path.is_file() and base):
        return None
    meta = json.loads(meta_path.read_text())
    this_update = dt.datetime.fromisoformat(meta["this_update"])
    refresh_at = this_update + dt.timedelta(seconds=meta["refresh_after_s"])
    if delta_interval is not None:
        refresh_at = min(refresh_at, this_update + delta_interval)
    base_at = dt.datetime.fromisoformat(base["this_update"])
    base_due = base_at + dt.timedelta(seconds=meta["base_interval_s"])
    if meta["registry"] != digest or meta["base_number"] != base["number"]:
        return None
    if now >= min(refresh_at, base_due):
        return None
    return Published(
        kind,
        full_path.read_bytes(),
        delta_path.read_bytes(),
        meta["full_number"],
        meta["delta_number"],
        meta["base_number"],
        this_update,
    )


def publish(
    state: SandboxState,
    kind: CertKind,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    new_base: bool = False,
    full_validity: dt.timedelta = FULL_VALIDITY,
    delta_validity: dt.timedelta = DELTA_VALIDITY,
    base_interval: dt.timedelta = BASE_INTERVAL,
    delta_interval: dt.timedelta | None = None,
) -> Published:
    """The CA's current full and delta CRLs, rebuilt and written if anything changed.

    ``new_base=True`` makes this full CRL the base of the following deltas (as a daily full CRL
    would be); ``force=True`` rebuilds even when nothing changed; ``delta_interval`` rebuilds
    once the files are that old (the HTTP service's short publication interval).
    """
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    with _locked(state, kind) as folder:
        raw = (folder / "registry.json").read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        base_path = folder / "crl-base.json"
        base = json.loads(base_path.read_text()) if base_path.is_file() else None
        if not (force or new_base):
            cached = _cached(state, kind, digest, now, base, delta_interval)
            if cached is not None:
                return cached
        registry = {int(s, 16): RegistryEntry(**e) for s, e in json.loads(raw).items()}
        current = registry_entries(registry, now=now)
        full_number = _next_number(folder)
        base_due = base and dt.datetime.fromisoformat(base["this_update"]) + base_interval <= now
        if new_base or base is None or base_due:
            base = {
                "number": full_number,
                "this_update": now.isoformat(),
                "entries": _entries_json(current),
            }
            write_atomic(base_path, json.dumps(base, indent=1).encode())
        delta_number = _next_number(folder)
        ca = state.ca(kind)
        endpoints = state.endpoints
        full = make_crl(
            ca,
            current.values(),
            number=full_number,
            this_update=now,
            validity=full_validity,
            distribution_point=endpoints.crl_url(kind),
            freshest_crl=endpoints.delta_crl_url(kind),
        )
        changes = delta_entries(_entries_from_json(base["entries"]), current)
        delta = make_crl(
            ca,
            changes,
            number=delta_number,
            this_update=now,
            validity=delta_validity,
            delta_base=base["number"],
            distribution_point=endpoints.crl_url(kind),
        )
        write_atomic(crl_path(state, kind), full)
        write_atomic(crl_path(state, kind, delta=True), delta)
        meta = {
            "registry": digest,
            "full_number": full_number,
            "delta_number": delta_number,
            "base_number": base["number"],
            "this_update": now.isoformat(),
            "refresh_after_s": min(full_validity, delta_validity).total_seconds() / 2,
            "base_interval_s": base_interval.total_seconds(),
        }
        write_atomic(crl_dir(state) / f"{kind}.json", json.dumps(meta, indent=1).encode())
        return Published(kind, full, delta, full_number, delta_number, base["number"], now)
