"""Serving the bridge on the loopback interface only.

The address is not configurable: ``127.0.0.1`` is written here and nowhere else. The port is bound
before the app is built so that ``--port 0`` (tests) still gives the Host check the real port.
SIGTERM ends the server like Ctrl-C; a running operation's thread dies with the process and PC/SC
releases the card (the card is reset on disconnect, so no PIN stays verified).
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from collections.abc import Callable
from types import FrameType

from werkzeug.serving import make_server

from client_bridge.app import create_app
from client_bridge.settings import BridgeSettings

LOOPBACK = "127.0.0.1"


def _stop(_signal: int, _frame: FrameType | None) -> None:
    sys.exit(0)


def serve(settings: BridgeSettings, announce: Callable[[str], None] = print) -> None:
    """Listen on 127.0.0.1:PORT until SIGTERM or Ctrl-C."""
    server = make_server(LOOPBACK, settings.port, None, threaded=True)  # type: ignore[arg-type]
    settings = dataclasses.replace(settings, port=server.port)
    server.app = create_app(settings)
    signal.signal(signal.SIGTERM, _stop)
    announce(f"jpki-bridge listening on http://{LOOPBACK}:{server.port}")
    announce(f"allowed origins: {', '.join(sorted(settings.allowed_origins))}")
    announce(f"PIN entry: {'standard input' if settings.pin_stdin else 'the bridge PIN page'}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
