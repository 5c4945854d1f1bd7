"""How recent a CRL must be to answer for a failed OCSP exchange (``crl_fallback_max_age``).

Under ``ocsp,crl`` the CRL is the fallback. A CRL is only refreshed shortly before its
nextUpdate, so the one held may be nearly a day old: a card revoked since would log in for as
long as OCSP stays down. The fallback therefore answers only with a CRL fetched within
``crl_fallback_max_age``; an older one is fetched again first, once for every check that needs
it (a thread per type in each process, a file lock per type on the machine), each check waiting
at most ``ocsp_timeout`` for it. If no recent CRL can be had, the check fails closed as
``crl_too_old``. When the CRL was last fetched is a small file beside the indexes, written by
``CrlUpdater.refresh`` after each successful refresh (``mark_fetched``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from idp.jpki.errors import CrlTooOld, JpkiValidationError
from idp.jpki.settings import CertificateType, JpkiSettings

log = logging.getLogger(__name__)


def _fetched_path(folder: Path, kind: CertificateType) -> Path:
    return Path(folder) / f"{kind}.fetched"


def mark_fetched(folder: Path, kind: CertificateType, now: dt.datetime) -> None:
    """Record that ``kind``'s CRL (and delta) were fetched and accepted at ``now``."""
    path = _fetched_path(folder, kind)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as out:
        out.write(now.isoformat())
    os.replace(out.name, path)


def fetched_at(folder: Path, kind: CertificateType) -> dt.datetime | None:
    """When ``kind``'s CRL was last fetched, or None if never (or unreadable)."""
    try:
        return dt.datetime.fromisoformat(_fetched_path(folder, kind).read_text().strip())
    except (OSError, ValueError):
        return None


class CrlFallback:
    """Whether the CRL held may answer now, fetching a newer one when it may not."""

    def __init__(
        self,
        settings: JpkiSettings,
        refresh: Callable[[CertificateType, dt.datetime], None] | None = None,
    ) -> None:
        self.folder = Path(settings.crl_index_dir)
        self.max_age = dt.timedelta(seconds=settings.crl_fallback_max_age)
        self.refresh = refresh
        """``CrlUpdater.refresh``; None: never fetch here, only judge what is held."""
        self.wait = settings.ocsp_timeout
        self.retry_after = settings.ocsp_failure_ttl
        """Seconds between fetches started here, so a CRL server that is down is not asked
        once per login."""
        self._flights: dict[CertificateType, threading.Thread] = {}
        self._started: dict[CertificateType, float] = {}
        self._guard = threading.Lock()

    def recent(self, kind: CertificateType, now: dt.datetime) -> bool:
        fetched = fetched_at(self.folder, kind)
        return fetched is not None and now - fetched <= self.max_age

    def refresh_if_old(self, kind: CertificateType, now: dt.datetime) -> None:
        """Start one fetch if the CRL held is too old, and wait for it at most ``wait`` s."""
        if self.recent(kind, now) or self.refresh is None:
            return
        flight = self._flight(kind, now, self.refresh)
        if flight is not None:
            flight.join(self.wait)

    def require_recent(self, kind: CertificateType, now: dt.datetime) -> None:
        """Refuse as ``crl_too_old`` unless the CRL held was fetched within the max age."""
        if self.recent(kind, now):
            return
        fetched = fetched_at(self.folder, kind)
        when = f"at {fetched.isoformat()}" if fetched else "never"
        raise CrlTooOld(
            f"the {kind} CRL was last fetched {when}, longer ago than "
            f"{self.max_age.total_seconds():g} s, and no newer one could be fetched; fail closed"
        )

    def _flight(
        self, kind: CertificateType, now: dt.datetime, refresh: Callable
    ) -> threading.Thread | None:
        """The fetch under way for ``kind`` in this process, else a new one (unless one was
        started within ``retry_after``)."""
        with self._guard:
            flight = self._flights.get(kind)
            if flight is not None and flight.is_alive():
                return flight
            if time.monotonic() - self._started.get(kind, -1e9) < self.retry_after:
                return None
            flight = threading.Thread(
                target=self._fetch,
                args=(kind, now, refresh),
                name=f"jpki-crl-fallback-{kind}",
                daemon=True,
            )
            self._flights[kind], self._started[kind] = flight, time.monotonic()
            flight.start()
            return flight

    def _fetch(self, kind: CertificateType, now: dt.datetime, refresh: Callable) -> None:
        """One fetch per machine: a process that waited on the lock finds the CRL recent."""
        with self._lock(kind):
            if self.recent(kind, now):
                return
            try:
                refresh(kind, now)
            except (JpkiValidationError, ValueError) as error:
                reason = getattr(error, "reason", "not_configured")
                log.warning("CRL fetch for the fallback (%s) refused: %s", kind, reason)

    @contextlib.contextmanager
    def _lock(self, kind: CertificateType) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f".{kind}.fallback.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
