"""Where the card pages (login, consent, documents) find the bridge (``[login] bridge_url``),
and how they name the service to it.

``idp.config`` holds the value; this module checks it at start-up, since only a loopback http
address can be the bridge (it listens nowhere else, docs/bridge-protocol.md). Its origin is also
the one ``connect-src`` of the pages' CSP allows besides the IdP's own (``security``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Config, ConfigError
from ..services import Service

DEFAULT_BRIDGE_URL = "http://127.0.0.1:8003"
"""``jpki-bridge run``'s default address (docs/architecture.md §5)."""
MAX_SERVICE_NAME = 80
"""The bridge shows at most 80 characters of the service's name (bridge-protocol.md)."""


@dataclass(frozen=True)
class BridgeSettings:
    bridge_url: str = DEFAULT_BRIDGE_URL
    """The bridge's loopback base URL as the citizen's browser reaches it."""

    @property
    def bridge_origin(self) -> str:
        url = urlsplit(self.bridge_url)
        return f"{url.scheme}://{url.netloc}"

    @classmethod
    def from_config(cls, config: Config) -> BridgeSettings:
        url = config.login.bridge_url or DEFAULT_BRIDGE_URL
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError(f"login.bridge_url {url!r} must be http://127.0.0.1:PORT")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"login.bridge_url {url!r} must have no path, query or fragment")
        return cls(bridge_url=f"http://{parts.netloc}")


def service_name(name: str) -> str:
    """The client's registered name as the bridge accepts it: printable, 1-80 characters."""
    printable = "".join(c for c in name if c.isprintable()).strip()
    return (printable or "?")[:MAX_SERVICE_NAME]


BRIDGE: Service[BridgeSettings] = Service("bridge settings")
"""Where the app's card pages find the bridge (``idp.web``)."""
