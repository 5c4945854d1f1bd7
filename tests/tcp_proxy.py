"""A TCP forwarder in front of a real server, which a test can cut, stall and mend.

The shared PostgreSQL and Redis serve every test, so an outage is made here, between the IdP and
the store (tests/outages in process, tests/production for its gunicorn nodes): ``cut`` resets
every open connection and refuses new ones (the host is down), ``stall`` accepts connections and
forwards nothing (a black hole: only timeouts end the wait), ``mend`` serves again on the same
port, the store's contents untouched.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading


class Proxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stalled = False
        self._serving = True
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by cut()
            with self._lock:
                self._open.add(client)
            if self._stalled:
                continue  # hold it, say nothing
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            self._close(client)
            return
        with self._lock:
            self._open.add(upstream)
        peer = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        for end in peer:
            selector.register(end, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    peer[key.fileobj].sendall(data)  # type: ignore[index]
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            self._close(client)
            self._close(upstream)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._open.discard(end)
        with contextlib.suppress(OSError):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            end.close()  # linger 0: a reset, as when the host goes away

    def cut(self) -> None:
        """Reset every connection and refuse new ones."""
        self._serving = False
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self._listener.close()
        with self._lock:
            ends = list(self._open)
        for end in ends:
            self._close(end)

    def stall(self) -> None:
        """Keep accepting, forward nothing, and drop what was open."""
        self._stalled = True
        with self._lock:
            ends = list(self._open)
        for end in ends:
            self._close(end)

    def mend(self) -> None:
        """Serve again, on the same port."""
        if self._stalled:
            self._stalled = False
            with self._lock:
                held = list(self._open)
            for end in held:
                self._close(end)
        if not self._serving:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            self._serving = True
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def close(self) -> None:
        self.cut()
