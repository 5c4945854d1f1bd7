"""Event streams as the transmitter sees them (SSF 1.0 §8.1): what each one delivers."""

from __future__ import annotations

import json
from typing import Protocol

from ..services import AppServices, Service
from ..services import services as app_services
from ..storage.streams import SignalStream
from . import events

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


class Waker(Protocol):
    def wake(self) -> None: ...


COURIER: Service[Waker | None] = Service("shared signals courier", default=lambda: None)
"""Pushes the outbox's SETs (``idp.ssf.push``); None where the app runs none."""


def delivered_events(stream: SignalStream, issuer: str) -> list[str]:
    """``events_delivered``: what the receiver requested that we support (all we support when
    it requested none)."""
    supported = events.supported(issuer)
    requested = json.loads(stream.events_requested or "[]")
    if not requested:
        return supported
    return [event for event in supported if event in requested]


def wake_courier(services: object = None) -> None:
    """Ask the push courier, if the app runs one, to look at the outbox now. ``services``: the
    app's ``AppServices``; anything else (None, the provider's shared services) means the
    current app's."""
    held = services if isinstance(services, AppServices) else app_services()
    if (courier := held[COURIER]) is not None:
        courier.wake()
