"""The jpki-idp client bridge: the citizen's My Number Card, reached over PC/SC, for the login page.

It runs on the citizen's own computer, listens on the loopback interface only, takes the PIN on its
own screen and signs an origin-bound challenge with the card (docs/bridge-protocol.md).
"""

__version__ = "0.1.0"
PROTOCOL_VERSION = 2
"""The highest version of docs/bridge-protocol.md this bridge speaks (it speaks 1 as well; the
page asks for one with ``version``). The API prefix stays ``/v1/``."""
