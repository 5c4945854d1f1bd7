"""The app's services: what each package built for the app, behind one accessor, ``services()``.

``create_app`` gives the app an ``AppServices`` holding its configuration (``.config``); each
package's ``init_app`` then registers what it builds under a ``Service`` it declares next to the
service's type (``SERVER: Service[IdpServer]`` in ``idp.oidc.server``, ``EPHEMERAL`` in
``idp.storage.ephemeral``, ...), and every reader asks ``services()[SERVER]``: typed, one name
per service, declared once by its owner. A reader imports the declaration from the owner, so it
only ever names services of its own layer or below; this module imports none of them.

A required service read before its package registered it raises ``LookupError``; an optional
one (declared with a ``default``) gives the default, e.g. None where the configuration leaves
it out (no trust anchors: no card verifier). Tests replace one by assignment
(``services(app)[CONSENT_SCREEN] = MyScreen()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from flask import Flask, current_app

from .config import Config

T = TypeVar("T")
_KEY = "idp.services"


class Service(Generic[T]):
    """One service an app may hold; declared once, by the package whose type it is."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Callable[[], T] | None = None) -> None:
        self.name = name
        self.default = default
        """Makes the value of an app that has none (kept: a cache starts empty once)."""

    def __repr__(self) -> str:
        return f"Service({self.name!r})"


class AppServices:
    """One app's configuration and services."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._held: dict[Service, object] = {}

    def __getitem__(self, service: Service[T]) -> T:
        try:
            return self._held[service]  # type: ignore[return-value]
        except KeyError:
            if service.default is None:
                raise LookupError(f"no {service.name}: not registered for this app") from None
        value = self._held[service] = service.default()
        return value

    def __setitem__(self, service: Service[T], value: T) -> None:
        self._held[service] = value

    def get(self, service: Service[T], default: object = None) -> T | object:
        """What is registered under ``service``, else ``default`` (its own default unmade): for
        code that swaps a service and puts it back, such as pytest's ``monkeypatch.setitem``."""
        return self._held.get(service, default)


def install(app: Flask, config: Config) -> AppServices:
    """Give ``app`` its services, holding ``config`` so far (``create_app``, first)."""
    found = app.extensions[_KEY] = AppServices(config)
    return found


def services(app: Flask | None = None) -> AppServices:
    """The services of ``app``, default the current app."""
    return (app or current_app).extensions[_KEY]
