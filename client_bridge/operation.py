"""One card operation from start to signature: the flow both the API and ``selftest`` run.

Phase 1 (no PIN): find the card, select the JPKI AP, read the retry counter, and for a login read
the authentication certificate. A missing card or a locked PIN is reported before anyone types a
PIN. Phase 2 (the PIN, once): VERIFY, read the signing certificate if needed, sign, then check the
signature against the certificate locally so a faulty card never hands the IdP garbage.

The connection stays open between the phases; PC/SC invalidates it if the card is removed or
swapped meanwhile, which surfaces as :class:`errors.CardRemoved`. The PIN is asked for exactly once
and wiped when phase 2 ends, whatever happens: the bridge never retries a PIN by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from client_bridge import errors, protocol
from client_bridge.card import JpkiCard
from client_bridge.pin import KeyKind, Pin
from client_bridge.session import Connector


@dataclass(frozen=True)
class Request:
    """What is to be signed, for whom. ``origin`` is the browser's ``Origin`` header."""

    kind: KeyKind
    origin: str
    challenge: bytes
    service: str


@dataclass(frozen=True)
class Prompt:
    """What the PIN screen shows: who asks, and how many tries are left (None: unknown)."""

    request: Request
    tries_left: int | None

    @property
    def last_try(self) -> bool:
        return self.tries_left == 1


PURPOSES = {KeyKind.AUTH: "login", KeyKind.SIGN: "identity"}
"""The result's ``purpose`` per key (bridge-protocol.md §5)."""

AskPin = Callable[[Prompt], Pin]
"""Returns a PIN of valid shape, or raises Cancelled / PinTimeout."""


def perform(request: Request, connect: Connector, ask_pin: AskPin) -> protocol.SignatureResult:
    """Run the whole operation; every failure is a :class:`errors.BridgeError`."""
    with connect() as connection:
        card = JpkiCard(connection)
        with connection.transaction():
            card.select_application()
            tries = card.tries_left(request.kind)
            if tries == 0:
                raise errors.PinLocked(f"{request.kind} PIN blocked")
            certificate = None
            if request.kind is KeyKind.AUTH:
                certificate = card.read_certificate(KeyKind.AUTH)
        with ask_pin(Prompt(request, tries)) as pin, connection.transaction():
            if pin.kind is not request.kind:
                raise errors.PinFormat("a PIN for the other key")
            card.select_application()
            card.verify(pin)
            if certificate is None:
                certificate = card.read_certificate(request.kind)
            digest_info = protocol.digest_info(request.origin, request.challenge)
            signature = card.sign(request.kind, digest_info)
    check_signature(
        certificate, signature, protocol.signed_value(request.origin, request.challenge)
    )
    purpose = PURPOSES[request.kind]
    return protocol.SignatureResult(
        purpose, request.origin, request.challenge, certificate, signature
    )


def check_signature(certificate_der: bytes, signature: bytes, signed: bytes) -> None:
    """The card's signature must verify with the certificate it gave us (RSA PKCS#1 v1.5)."""
    try:
        public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    except ValueError:
        raise errors.CardError("the card's certificate is not valid DER") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise errors.CardError("the card's certificate does not hold an RSA key")
    try:
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise errors.CardError("the card's signature does not match its certificate") from None
