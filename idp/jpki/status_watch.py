"""Watching for status changes: the revocation feed and the delta CRLs, polled within the interval.

``StatusWatcher.poll_once(now)`` does one round (tests and ``idp jpki status-poll`` call it); the
watcher's daemon thread calls it every ``status_poll_interval`` seconds, well within
``status_interval``. A round reads the feed from the cursor kept in the shared ephemeral store
(``jpki:status:feed:cursor``) page by page, and fetches each configured delta CRL (the
``CrlUpdater`` tells the listener what a new CRL changed, crl_diff.py). For every change the
cached OCSP answer of that certificate is dropped before the listener hears of it.

Several nodes share the cursor: a node reads the feed only while it holds
``jpki:status:feed:lock`` (``store.add``), so one node handles a page at a time; the cursor moves
only after the listener has taken the page. A node that dies between the two leaves the page to be
handled again, and every node compares its own CRLs: the listener must be idempotent (a change may
arrive twice, from the feed and a CRL, or after a crash). A refused page (``FeedRefused``) or an
unreachable feed leaves the cursor where it was and is logged; the next round tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from idp.jpki import ocsp_cache
from idp.jpki.crl_updater import CrlUpdater
from idp.jpki.errors import JpkiValidationError
from idp.jpki.feed import FeedClient
from idp.jpki.settings import CertificateType, JpkiSettings
from idp.jpki.status import StatusChange, StatusListener, issuer_hash_of
from idp.jpki.store import EphemeralStore

log = logging.getLogger(__name__)

CURSOR_KEY = "jpki:status:feed:cursor"
LOCK_KEY = "jpki:status:feed:lock"
CURSOR_TTL = 400 * 86400.0
"""Seconds the cursor is kept without a poll (the store wants a time to live)."""
MAX_PAGES = 20
"""Pages read in one round at most; the rest waits for the next round (no round runs forever)."""


@dataclass
class PollOutcome:
    """What one round did: changes handed on (from the feed and the CRLs), feed pages read, and
    each source's refusal (None: fine)."""

    changes: int = 0
    pages: int = 0
    refusals: dict[str, str | None] = field(default_factory=dict)


class StatusWatcher:
    """Polls the configured sources and hands their changes to ``listener`` in batches."""

    def __init__(
        self,
        settings: JpkiSettings,
        store: EphemeralStore,
        listener: StatusListener,
        anchors: dict[CertificateType, tuple[x509.Certificate, ...]],
        *,
        feed: FeedClient | None = None,
        updater: CrlUpdater | None = None,
    ) -> None:
        self.settings, self.store, self.listener = settings, store, listener
        self.feed, self.updater = feed, updater
        self.handed = 0
        """Changes handed to the listener so far, from every source."""
        self.issuers: dict[str, list[x509.Certificate]] = {}
        """Issuer-name hash -> the anchors of that name, whose OCSP answers are cached."""
        for roots in anchors.values():
            for root in roots:
                self.issuers.setdefault(issuer_hash_of(root.subject), []).append(root)
        if updater is not None:
            self.watch(updater)

    def watch(self, updater: CrlUpdater) -> None:
        """Hear what ``updater``'s new CRLs change (another updater than the one polled, e.g. a
        command's)."""
        updater.status_listener = _Forwarder(self.hand)

    def hand(self, changes: Sequence[StatusChange]) -> None:
        """Drop each certificate's cached OCSP answer, then tell the listener."""
        for change in changes:
            for issuer in self.issuers.get(change.issuer_hash, ()):
                ocsp_cache.forget(self.store, issuer, int(change.serial, 16))
        self.listener.changed(changes)
        self.handed += len(changes)

    def poll_once(self, now: dt.datetime) -> PollOutcome:
        """One round over the feed and every delta CRL; never raises for a source's failure."""
        outcome, handed = PollOutcome(), self.handed
        if self.feed is not None:
            outcome.refusals["feed"] = self._read_feed(self.feed, now, outcome)
        if self.updater is not None:
            for kind in map(CertificateType, self.settings.delta_crl_urls):
                outcome.refusals[f"delta-crl:{kind}"] = self._poll_delta(self.updater, kind, now)
        outcome.changes = self.handed - handed
        return outcome

    def _read_feed(self, feed: FeedClient, now: dt.datetime, outcome: PollOutcome) -> str | None:
        if not self.store.add(LOCK_KEY, b"1", self.settings.status_interval):
            return None  # another node is reading the feed
        try:
            cursor = (self.store.get(CURSOR_KEY) or b"0").decode("ascii", "replace")
            for _ in range(MAX_PAGES):
                page = feed.fetch(cursor, now)
                if page.changes:
                    self.hand(page.changes)
                self.store.set(CURSOR_KEY, page.next.encode(), CURSOR_TTL)
                outcome.pages += 1
                cursor = page.next
                if not page.has_more:
                    break
        except JpkiValidationError as error:
            log.warning(
                "revocation feed page after cursor %s refused: %s (%s); cursor kept",
                cursor, error.reason, error.detail,
            )  # fmt: skip
            return error.reason
        finally:
            self.store.delete(LOCK_KEY)
        return None

    def _poll_delta(
        self, updater: CrlUpdater, kind: CertificateType, now: dt.datetime
    ) -> str | None:
        updater.retry_pending(kind)
        try:
            updater.refresh_delta(kind, now, min_age=self.settings.status_poll_interval / 2)
        except JpkiValidationError as error:
            log.warning("delta CRL for %s refused: %s (%s)", kind, error.reason, error.detail)
            return error.reason
        return None


@dataclass(frozen=True)
class _Forwarder:
    """A ``StatusListener`` that is a function (the watcher's ``hand``)."""

    hand: Callable[[Sequence[StatusChange]], None]

    def changed(self, changes: Sequence[StatusChange]) -> None:
        self.hand(changes)


class StatusPoller:
    """A daemon thread calling ``poll_once`` every ``status_poll_interval``; ``start()`` may be
    called again (each request of a serving process does), ``stop()`` ends it promptly."""

    def __init__(
        self,
        watcher: StatusWatcher,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.watcher, self.clock = watcher, clock
        self.interval = watcher.settings.status_poll_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jpki-status-watch", daemon=True)
        self._starting = threading.Lock()

    def start(self) -> None:
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
            try:
                self.watcher.poll_once(self.clock())
            except Exception:  # the thread must outlive a listener's failure
                log.exception("status poll failed")
            self._stop.wait(self.interval)


def build_watcher(
    settings: JpkiSettings,
    store: EphemeralStore,
    listener: StatusListener,
    anchors: dict[CertificateType, tuple[x509.Certificate, ...]],
    *,
    transport,
    updater: CrlUpdater | None = None,
) -> StatusWatcher | None:
    """The watcher the configuration asks for (a feed, delta CRLs, or both), else None.
    ``updater``: the process's ``CrlUpdater`` (the same one that refreshes the full CRLs, so their
    changes reach the listener too); one is made when delta CRLs are configured and none given.
    A feed whose certificate cannot be read is logged and left out (outside production: there
    the configuration check refuses to start)."""
    try:
        feed = FeedClient.from_settings(settings, transport)
    except ValueError as error:  # production's configuration check refuses this at start-up
        log.error("the revocation feed is not read: %s", error)
        feed = None
    if updater is None and settings.delta_crl_urls and settings.crl_urls:
        updater = CrlUpdater(settings, anchors, transport)
    if feed is None and updater is None:
        return None
    return StatusWatcher(settings, store, listener, anchors, feed=feed, updater=updater)
