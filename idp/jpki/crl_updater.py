"""Downloading full and delta CRLs and keeping the shared indexes current.

``CrlUpdater.refresh`` does one round for one certificate type, synchronously (tests drive it
with their own ``now``); ``CrlRefresher`` runs rounds in a daemon thread, ``refresh_margin``
before nextUpdate and every ``retry_interval`` after a failure. A refused download leaves the
last valid index in place until its nextUpdate, after which lookups fail closed. A file lock per
type lets one process of a machine refresh while the others keep reading. An optional
``CrlObserver`` hears how each refresh ended (the IdP's metrics); the core never needs one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from cryptography import x509

from idp.jpki.crl import CrlStatusSource
from idp.jpki.crl_ingest import Expectation, ingest
from idp.jpki.errors import JpkiValidationError
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.transport import Transport

log = logging.getLogger(__name__)


class CrlObserver(Protocol):
    """Told how refreshes end, for counting."""

    def refreshed(self, kind: CertificateType, refusal: str | None) -> None:
        """One ``refresh`` ended: ``refusal`` is the refusal's ``reason``, None on success."""


class CrlUpdater:
    """One refresh round per type: full CRL, then the delta if one is configured."""

    def __init__(
        self,
        settings: JpkiSettings,
        anchors: dict[CertificateType, tuple[x509.Certificate, ...]],
        transport: Transport,
        observer: CrlObserver | None = None,
    ) -> None:
        self.settings = settings
        self.observer = observer
        """Who hears how refreshes end (the app's metrics); None: nobody listens."""
        self.anchors = anchors
        self.transport = transport
        self.folder = Path(settings.crl_index_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.last_error: dict[CertificateType, JpkiValidationError | None] = {}

    def source(self, kind: CertificateType) -> CrlStatusSource:
        return CrlStatusSource(self.folder, kind)

    def due(self, kind: CertificateType, now: dt.datetime) -> bool:
        next_update = self.source(kind).next_update()
        margin = dt.timedelta(seconds=self.settings.crl_refresh_margin)
        return next_update is None or now >= next_update - margin

    def refresh(self, kind: CertificateType, now: dt.datetime) -> None:
        """Fetch and ingest; raises the refusal (the held index stays in use)."""
        url = self.settings.crl_urls.get(kind)
        if not url:
            raise ValueError(f"no CRL URL configured for {kind}")
        with self._lock(kind):
            try:
                self._fetch_and_ingest(kind, url, now, delta=False)
                delta_url = self.settings.delta_crl_urls.get(kind)
                if delta_url:
                    self._fetch_and_ingest(kind, delta_url, now, delta=True)
            except JpkiValidationError as error:
                self.last_error[kind] = error
                self._refreshed(kind, error.reason)
                raise
            self.last_error[kind] = None
            self._refreshed(kind, None)

    def _refreshed(self, kind: CertificateType, refusal: str | None) -> None:
        if self.observer is not None:
            self.observer.refreshed(kind, refusal)

    def _fetch_and_ingest(
        self, kind: CertificateType, url: str, now: dt.datetime, *, delta: bool
    ) -> None:
        source = self.source(kind)
        full_number, delta_number = source.held_numbers()
        expect = Expectation(
            delta=delta,
            now=now,
            max_skew=dt.timedelta(seconds=self.settings.max_clock_skew),
            held_number=delta_number if delta else full_number,
            base_number=full_number,
        )
        if not delta and full_number is not None:
            expect = Expectation(False, now, expect.max_skew, full_number)
        destination = source.delta_path if delta else source.full_path
        with tempfile.TemporaryFile(dir=self.folder) as download:
            self.transport.download(
                url, download, self.settings.crl_timeout, self.settings.crl_max_bytes
            )
            download.seek(0)
            ingest(download, destination, self.anchors.get(kind, ()), expect).close()

    @contextlib.contextmanager
    def _lock(self, kind: CertificateType) -> Iterator[None]:
        with (self.folder / f".{kind}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def refresh_due(self, now: dt.datetime) -> dict[CertificateType, str | None]:
        """One round over every configured type; returns each type's refusal reason or None."""
        outcome: dict[CertificateType, str | None] = {}
        for kind in self.settings.crl_urls:
            kind = CertificateType(kind)
            if not self.due(kind, now):
                continue
            try:
                self.refresh(kind, now)
                outcome[kind] = None
            except JpkiValidationError as error:
                log.warning("CRL refresh for %s refused: %s (%s)", kind, error.reason, error.detail)
                outcome[kind] = error.reason
        return outcome


class CrlRefresher:
    """A daemon thread calling ``refresh_due``; ``start()`` may be called again (each request of
    a serving process does), ``stop()`` ends it promptly."""

    def __init__(
        self,
        updater: CrlUpdater,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        interval: float | None = None,
    ) -> None:
        self.updater = updater
        self.clock = clock
        self.interval = interval or updater.settings.crl_retry_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jpki-crl-refresher", daemon=True)
        self._starting = threading.Lock()

    def start(self) -> None:
        """Start the thread unless it is running (cheap enough for every request)."""
        if self._thread.is_alive() or self._stop.is_set():
            return
        with self._starting:
            if not self._thread.is_alive() and self._thread.ident is None:
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.updater.refresh_due(self.clock())
            self._stop.wait(self.interval)
