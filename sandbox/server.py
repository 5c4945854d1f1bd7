"""Running the sandbox's revocation services (:mod:`sandbox.revocation_app`) over HTTP.

In-process, :func:`running_server` runs the service in a thread on a free port and yields a
:class:`RunningServer` whose ``behave()`` and ``misbehaving()`` change the misbehaviour without
HTTP (as ``POST /_sandbox/behaviour`` does), and whose ``refusing()`` closes the listening
socket, so connections are refused, then listens again on the same port. :func:`serve` is what
``jpki-sandbox serve`` runs.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.misbehaviour import Behaviours
from sandbox.profiles import CertKind
from sandbox.revocation_app import RequestCounter, RevocationApp
from sandbox.state import SandboxError, SandboxState


class _QuietHandler(WSGIRequestHandler):
    """No access log: tests start many servers."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, or the operator's error (Werkzeug would ``sys.exit`` instead)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise SandboxError(f"port {port} is busy: {error.strerror}") from None
        raise SandboxError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


def _server(app: RevocationApp, host: str, port: int, quiet: bool) -> BaseWSGIServer:
    sock = _listen(host, port)
    try:
        handler = _QuietHandler if quiet else WSGIRequestHandler
        return make_server(
            host,
            sock.getsockname()[1],
            app,
            threaded=True,
            request_handler=handler,
            fd=sock.fileno(),
        )
    finally:
        sock.close()  # Werkzeug holds its own duplicate of the descriptor


def base_url_port(state: SandboxState) -> int:
    """The port of the state's base URL, where certificates say the services are."""
    parts = urlsplit(state.endpoints.base_url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def serve(
    state: SandboxState,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    delta_interval: float | None = None,
) -> None:
    """Serve OCSP, CRLs and the revocation feed in the foreground until SIGTERM or SIGINT
    (``jpki-sandbox serve``).

    ``port`` defaults to the base URL's; ``delta_interval`` (seconds) is how often the CRLs are
    published again (default :data:`sandbox.crl.DELTA_INTERVAL`). Raises :class:`SandboxError`
    when the port is busy.
    """
    app = (
        RevocationApp(state)
        if delta_interval is None
        else RevocationApp(state, delta_interval=delta_interval)
    )
    server = _server(app, host, base_url_port(state) if port is None else port, quiet=False)
    previous: dict[int, Any] = {}

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class RunningServer:
    """A service running in a thread (from :func:`running_server`)."""

    app: RevocationApp
    host: str
    port: int
    _server: BaseWSGIServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def behaviours(self) -> Behaviours:
        return self.app.behaviours

    def ocsp_url(self, kind: CertKind | str) -> str:
        return f"{self.base_url}/ocsp/{kind}"

    def crl_url(self, kind: CertKind | str, *, delta: bool = False) -> str:
        return f"{self.base_url}/crl/{kind}{'-delta' if delta else ''}.crl"

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/feed"

    @property
    def linkage_url(self) -> str:
        return f"{self.base_url}/linkage"

    @property
    def linkage_feed_url(self) -> str:
        return f"{self.base_url}/linkage/feed"

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/tsa"

    @contextlib.contextmanager
    def tsa_misbehaving(self, mode: str) -> Iterator[RunningServer]:
        """The time-stamping authority in ``mode`` (:data:`sandbox.tsa.MODES`) for the block."""
        self.app.tsa_mode = mode
        try:
            yield self
        finally:
            self.app.tsa_mode = "normal"

    def behave(
        self,
        ocsp: str | None = None,
        crl: str | None = None,
        *,
        kind: CertKind | str | None = None,
        delay: float | None = None,
    ) -> None:
        """Set the OCSP and/or CRL mode, for one kind or both (see :mod:`sandbox.misbehaviour`)."""
        for service, mode in (("ocsp", ocsp), ("crl", crl)):
            if mode is not None:
                self.behaviours.set(service, mode, kind=kind, delay=delay)

    def reset(self) -> None:
        """Everything back to ``normal``."""
        self.behaviours.reset()

    @property
    def requests(self) -> RequestCounter:
        """``server.requests.get("ocsp", "auth")``: requests received; ``.clear()`` restarts."""
        return self.app.requests

    @contextlib.contextmanager
    def misbehaving(
        self,
        ocsp: str | None = None,
        crl: str | None = None,
        *,
        kind: CertKind | str | None = None,
        delay: float | None = None,
    ) -> Iterator[RunningServer]:
        """``behave(...)`` for the ``with`` block, then everything back to normal."""
        self.behave(ocsp, crl, kind=kind, delay=delay)
        try:
            yield self
        finally:
            self.reset()

    def start(self) -> None:
        self._server = _server(self.app, self.host, self.port, quiet=True)
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"sandbox-server-{self.port}",
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @contextlib.contextmanager
    def refusing(self) -> Iterator[RunningServer]:
        """No listener on the port for the ``with`` block: connections are refused."""
        self.stop()
        try:
            yield self
        finally:
            self.start()


@contextlib.contextmanager
def running_server(
    state: SandboxState,
    port: int | None = 0,
    *,
    host: str = "127.0.0.1",
    behaviours: Behaviours | None = None,
) -> Iterator[RunningServer]:
    """The service in a background thread for a test; ``port=0`` picks a free port, ``None``
    the state's base URL's (which is what certificates' AIA and CRL DP name: see
    :func:`free_port`)."""
    server = RunningServer(
        RevocationApp(state, behaviours), host, base_url_port(state) if port is None else port
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, to put in a base URL before serving on it."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
