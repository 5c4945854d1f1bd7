"""Keeping a slow or dead OCSP responder from taking the IdP down with it.

Per responder URL, each process runs at most ``ocsp_max_concurrent`` exchanges at a time; a
check that finds every slot taken is refused at once as ``responder_busy`` (under ``ocsp,crl``
the CRL answers), so a responder that hangs holds a bounded number of worker threads and every
other request (``/jwks``, ``/token``, ``/userinfo``) keeps its threads. After
``ocsp_breaker_failures`` consecutive failed exchanges the breaker opens: for
``ocsp_breaker_open`` seconds nobody asks that responder (``responder_circuit_open``), on any
process, since the opening is written to the shared ephemeral store. Then one probe, on one
process, asks it: an answer closes the breaker, a failure opens it again. Only a responder that
could not be used counts as failing (``ResponderUnavailable``: unreachable, timeout, HTTP error,
garbage); one that answers, even with a refusal, is up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from idp.jpki.errors import ResponderBusy, ResponderCircuitOpen, ResponderUnavailable
from idp.jpki.store import EphemeralStore


@dataclass
class _Responder:
    """One responder as this process sees it."""

    slots: threading.BoundedSemaphore
    failures: int = 0
    """Consecutive failed exchanges."""
    open_until: dt.datetime | None = None
    probing: bool = False
    guard: threading.Lock = field(default_factory=threading.Lock)


class ResponderBreaker:
    """Bounded concurrency and a circuit breaker per responder URL, for one process."""

    def __init__(
        self,
        store: EphemeralStore,
        *,
        max_concurrent: int,
        failures: int,
        open_seconds: float,
        timeout: float,
    ) -> None:
        self.store, self.max_concurrent = store, max(1, max_concurrent)
        self.threshold, self.open_seconds, self.timeout = max(1, failures), open_seconds, timeout
        self._responders: dict[str, _Responder] = {}
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def exchange(self, url: str, now: dt.datetime) -> Iterator[None]:
        """Run one exchange with ``url`` in the block, or refuse at once (busy, open)."""
        responder = self._responder(url)
        probe = self._admit(responder, url, now)
        if not responder.slots.acquire(blocking=False):
            self._end_probe(responder, url, probe)
            raise ResponderBusy(f"{self.max_concurrent} exchanges with the responder under way")
        try:
            yield
        except ResponderUnavailable:
            self._failed(responder, url, now, probe)
            raise
        except Exception:
            self._end_probe(responder, url, probe)
            raise
        else:
            self._answered(responder, url, probe)
        finally:
            responder.slots.release()

    def is_open(self, url: str, now: dt.datetime) -> bool:
        """Whether a check now would be refused without asking (for tests and status pages)."""
        until = self._open_until(self._responder(url), url)
        return until is not None and now < until

    def _responder(self, url: str) -> _Responder:
        with self._guard:
            if url not in self._responders:
                slots = threading.BoundedSemaphore(self.max_concurrent)
                self._responders[url] = _Responder(slots)
            return self._responders[url]

    def _admit(self, responder: _Responder, url: str, now: dt.datetime) -> bool:
        """Closed: go (False). Open: refuse. Open and past its time: go as the probe (True),
        unless another thread or process is probing already."""
        until = self._open_until(responder, url)
        if until is None:
            return False
        if now < until:
            raise ResponderCircuitOpen(f"the responder failed repeatedly; not asked until {until}")
        with responder.guard:
            if responder.probing or not self.store.add(
                _key(url) + ":probe", b"1", self.timeout + 1
            ):
                raise ResponderCircuitOpen("the responder failed repeatedly; a probe is under way")
            responder.probing = True
        return True

    def _open_until(self, responder: _Responder, url: str) -> dt.datetime | None:
        """The later of this process's opening and the one in the shared store."""
        until = responder.open_until
        raw = self.store.get(_key(url))
        if raw is not None:
            try:
                shared = dt.datetime.fromisoformat(raw.decode())
            except (UnicodeDecodeError, ValueError):
                shared = None
            if shared is not None and (until is None or shared > until):
                until = shared
        return until

    def _failed(self, responder: _Responder, url: str, now: dt.datetime, probe: bool) -> None:
        with responder.guard:
            responder.failures += 1
            if not probe and responder.failures < self.threshold:
                return
            until = now + dt.timedelta(seconds=self.open_seconds)
            responder.open_until, responder.failures = until, 0
        ttl = self.open_seconds + self.timeout + 1
        self.store.set(_key(url), until.isoformat().encode(), ttl)
        self._end_probe(responder, url, probe)

    def _answered(self, responder: _Responder, url: str, probe: bool) -> None:
        """The responder answered: failures start again from zero; the probe's answer closes."""
        with responder.guard:
            responder.failures = 0
            if probe:
                responder.open_until = None
        if probe:
            self.store.delete(_key(url))
        self._end_probe(responder, url, probe)

    def _end_probe(self, responder: _Responder, url: str, probe: bool) -> None:
        if probe:
            with responder.guard:
                responder.probing = False
            self.store.delete(_key(url) + ":probe")


def _key(url: str) -> str:
    return "jpki:ocsp-breaker:" + hashlib.sha256(url.encode()).hexdigest()[:32]
