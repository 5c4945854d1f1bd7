"""The bridge's settings, fixed at start-up from the command line (``jpki-bridge run``)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PORT = 8003


@dataclass(frozen=True)
class BridgeSettings:
    allowed_origins: frozenset[str]
    """Canonical origins (:func:`client_bridge.guard.canonical_origin`) that may call ``/v1/``.
    Empty means nobody may: ``run`` refuses to start that way."""
    port: int = DEFAULT_PORT
    """The loopback port; the Host check compares against it (0 until bound in tests)."""
    reader: str | None = None
    """A PC/SC reader name, or None to use the first reader holding a JPKI card."""
    pin_stdin: bool = False
    """Read PINs from standard input instead of the bridge's PIN page."""
    pin_timeout: float = 120.0
    """Seconds an operation waits for its PIN before failing with ``pin_timeout``."""
    requests_per_minute: int = 120
    """Every request of one origin (long polls included)."""
    operations_per_minute: int = 10
    """Card operations one origin may start; each can put a PIN screen in front of the citizen."""
    page_requests_per_minute: int = 60
    """The PIN window's requests (GET and POST) per operation; requests for ids the bridge never
    gave out share one budget of their own."""
