"""What ``GET /v1/status`` and ``jpki-bridge status`` report: readers, the card, its certificates.

Only SELECTs are sent (the JPKI AP and its certificate EFs), so no PIN is needed and nothing is
read; the signing certificate's contents stay behind the signing PIN (docs/jpki.md §1).
"""

from __future__ import annotations

from typing import Any

from client_bridge import PROTOCOL_VERSION, __version__, errors
from client_bridge.card import JpkiCard
from client_bridge.pcsc import PcscContext
from client_bridge.pin import KeyKind
from client_bridge.session import PcscConnector, reader_states


def readers() -> list[dict[str, Any]]:
    with PcscContext() as context:
        return [
            {"name": state.name, "card_present": state.card_present}
            for state in reader_states(context)
        ]


def card(reader: str | None) -> dict[str, Any]:
    """``{"reader", "certificates"}`` of the JPKI card in use, or the error saying why none."""
    try:
        with PcscConnector(reader)() as connection, connection.transaction():
            jpki = JpkiCard(connection)
            jpki.select_application()
            present = [kind.value for kind in KeyKind if jpki.has_certificate(kind)]
            return {
                "ready": True,
                "reader": getattr(connection, "reader", None),
                "certificates": present,
            }
    except errors.BridgeError as error:
        return {"ready": False, **error.to_json()}


def report(reader: str | None, probe_card: bool = True) -> dict[str, Any]:
    """The whole status; ``probe_card=False`` while an operation holds the card."""
    body: dict[str, Any] = {"bridge": __version__, "protocol": PROTOCOL_VERSION}
    try:
        body["readers"] = readers()
    except errors.BridgeError as error:
        body["readers"] = []
        body["card"] = {"ready": False, **error.to_json()}
        return body
    body["card"] = card(reader) if probe_card else {"ready": False, **errors.Busy().to_json()}
    return body
