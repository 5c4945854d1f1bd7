"""A virtual My Number Card holding the JPKI application, at the APDU level (docs/jpki.md §1, §6).

- :class:`VirtualCard` — the card: ATR, power, ``transmit(apdu) -> response`` (in-process).
- :mod:`sandbox.card.vpcd` — puts a card into the vsmartcard-vpcd reader of a running pcscd, so
  that PC/SC programs (OpenSC, pyscard, pcsc_scan) see it in "Virtual PCD 00 00".
- :mod:`sandbox.card.applet` — the JPKI AP's commands and status words.
"""

from sandbox.card.card import ATR, VirtualCard
from sandbox.card.files import JPKI_AID

__all__ = ["ATR", "JPKI_AID", "VirtualCard"]
