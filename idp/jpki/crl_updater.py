"""Downloading full and delta CRLs and keeping the shared indexes current.

``CrlUpdater.refresh`` does one round for one certificate type, synchronously (tests drive it
with their own ``now``); ``CrlRefresher`` runs rounds in a daemon thread, ``refresh_margin``
before nextUpdate and every ``retry_interval`` after a failure. A refused download leaves the
last valid index in place until its nextUpdate, after which lookups fail closed. A file lock per
type lets one process of a machine refresh while the others keep reading. An optional
``CrlObserver`` hears how each refresh ended (the IdP's metrics); the core never needs one.
An optional ``status_listener`` is told what each new CRL changed (crl_diff.py), and
``refresh_delta`` fetches only the delta CRL, as the status watcher does every poll.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from cryptography import x509

from idp.jpki import crl_diff, status_pending
from idp.jpki.crl import CrlStatusSource
from idp.jpki.crl_fallback import mark_fetched
from idp.jpki.crl_index import CrlIndex, IndexError_
from idp.jpki.crl_ingest import Expectation, ingest
from idp.jpki.errors import CrlRejected, JpkiValidationError
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.status import StatusListener
from idp.jpki.transport import Transport

log = logging.getLogger(__name__)


class CrlObserver(Protocol):
    """Told how refreshes end, for counting."""

    def refreshed(self, kind: CertificateType, refusal: str | None) -> None:
        """One ``refresh`` ended: ``refusal`` is the refusal's ``reason``, None on success."""


class CrlUpdater:
    """One refresh round per type: full CRL, then the delta if one is configured."""

    status_listener: StatusListener | None = None
    """Told of the status changes each newly ingested CRL brings; None: nobody listens."""

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
            mark_fetched(self.folder, kind, now)  # for crl_fallback_max_age
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
        before = self._held(kind) if self.status_listener is not None else None
        with tempfile.TemporaryFile(dir=self.folder) as download:
            self.transport.download(
                url, download, self.settings.crl_timeout, self.settings.crl_max_bytes
            )
            download.seek(0)
            ingest(download, destination, self.anchors.get(kind, ()), expect).close()
        if before is not None:
            self._tell_changes(kind, before, delta=delta)

    # --- status changes (crl_diff.py) and delta polling ---------------------------------------

    def _held(self, kind: CertificateType) -> crl_diff.Held:
        """The indexes as they are now, opened so that they outlive a rename over them."""
        source = self.source(kind)
        return crl_diff.Held.of(_open(source.full_path), _open(source.delta_path))

    def _tell_changes(self, kind: CertificateType, before: crl_diff.Held, *, delta: bool) -> None:
        """Hand what the CRL just ingested changed to the listener, after any changes it could not
        take before; a listener's failure is logged and its changes kept (status_pending.py), not
        raised: the index is in place either way and serves lookups."""
        after = self._held(kind)
        listener, index = self.status_listener, after.delta if delta else after.full
        if listener is None or index is None:
            return
        try:
            fingerprint = index.metadata["issuer_sha256"]
            anchor = crl_diff.anchor_named(self.anchors.get(kind, ()), fingerprint)
            found = crl_diff.changes(
                before, after, kind, anchor.subject, delta=delta, published=index.this_update
            )
        except Exception:  # a comparison's failure must not undo the refresh
            log.exception("status changes of %s CRL %d not found", kind, index.number)
            return
        if found:
            log.info("%s CRL %d of %s: %d status changes", "delta" if delta else "full",
                     index.number, kind, len(found))  # fmt: skip
        status_pending.hand(self.folder, kind, listener, found)

    def retry_pending(self, kind: CertificateType) -> None:
        """Hand on the changes of earlier CRLs the listener could not take (each round does)."""
        listener = self.status_listener
        if listener is None or not status_pending.pending_path(self.folder, kind).exists():
            return
        with self._lock(kind):
            status_pending.hand(self.folder, kind, listener, ())

    def refresh_delta(self, kind: CertificateType, now: dt.datetime, *, min_age: float = 0) -> bool:
        """Fetch and ingest only the delta CRL; False when none is configured, no full CRL is
        held yet, or this machine's delta is younger than ``min_age`` seconds (another process
        fetched it). A delta on a newer base than the full CRL held (the CA began a new base)
        makes it a whole ``refresh``. Raises the refusal, like ``refresh``."""
        url = self.settings.delta_crl_urls.get(kind)
        source = self.source(kind)
        if not url or source.held_numbers()[0] is None:
            return False
        try:
            with self._lock(kind):
                if min_age and _age(source.delta_path, now) < min_age:
                    return False
                self._fetch_and_ingest(kind, url, now, delta=True)
                mark_fetched(self.folder, kind, now)  # a delta on the full CRL is as recent
                return True
        except CrlRejected as error:
            if error.detail != NEWER_BASE:
                raise
            if _age(source.full_path, now) < self.settings.crl_retry_interval:
                raise  # the full CRL was just fetched: do not download it on every poll
        self.refresh(kind, now)  # outside the lock: refresh takes it
        return True

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
            self.retry_pending(kind)
            if not self.due(kind, now):
                continue
            try:
                self.refresh(kind, now)
                outcome[kind] = None
            except JpkiValidationError as error:
                log.warning("CRL refresh for %s refused: %s (%s)", kind, error.reason, error.detail)
                outcome[kind] = error.reason
        return outcome


NEWER_BASE = "delta CRL for a base we do not hold"
"""crl_ingest's refusal of a delta built on a full CRL newer than ours."""


def _open(path: str) -> CrlIndex | None:
    try:
        return CrlIndex(Path(path))
    except (FileNotFoundError, IndexError_, KeyError, ValueError):
        return None


def _age(path: str, now: dt.datetime) -> float:
    """Seconds since the index at ``path`` was written (infinite if there is none)."""
    try:
        return now.timestamp() - os.stat(path).st_mtime
    except FileNotFoundError:
        return float("inf")


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
