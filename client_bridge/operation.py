"""One card operation from start to signature: the flow both the API and ``selftest`` run.

Phase 1 (no PIN): find the card, select the JPKI AP, read the retry counter, and for a login read
the authentication certificate. A missing card or a locked PIN is reported before anyone types a
PIN. Phase 2 (the PIN, once): VERIFY, read the signing certificate if needed, sign, then check the
signature against the certificate locally so a faulty card never hands the IdP garbage. Every
purpose (login, identity, document) takes this same path; only the 32-byte digest inside the
DigestInfo and the result's members differ (:class:`Request`).

The connection stays open between the phases; PC/SC invalidates it if the card is removed or
swapped meanwhile, which surfaces as :class:`errors.CardRemoved`. The PIN is asked for exactly once
and wiped when phase 2 ends, whatever happens: the bridge never retries a PIN by itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from client_bridge import errors, protocol
from client_bridge.card import JpkiCard
from client_bridge.pin import KeyKind, Pin
from client_bridge.session import Connector


@dataclass(frozen=True)
class Document:
    """A document to sign (bridge-protocol.md §8): the IdP's SHA-256 digest, and what to show.

    The title and summary are the site's claim; the fingerprint is what the citizen compares
    with the IdP's review page, because it is computed here from the bytes the card will sign.
    """

    digest: bytes
    title: str
    summary: str

    @property
    def fingerprint(self) -> str:
        return protocol.fingerprint(self.digest)


@dataclass(frozen=True)
class Request:
    """What is to be signed, for whom. ``origin`` is the browser's ``Origin`` header.

    Exactly one of ``challenge`` (login, identity) and ``document`` (signing key only) is set;
    anything else is refused when the request is made, so no operation can start half-defined.
    """

    kind: KeyKind
    origin: str
    challenge: bytes | None
    service: str
    document: Document | None = None

    def __post_init__(self) -> None:
        if (self.challenge is None) == (self.document is None):
            raise ValueError("a request has either a challenge or a document")
        if self.document is not None and self.kind is not KeyKind.SIGN:
            raise ValueError("documents are signed with the signing key only")

    @property
    def purpose(self) -> str:
        """The result's ``purpose`` (bridge-protocol.md §5, §8)."""
        return protocol.DOCUMENT_PURPOSE if self.document else PURPOSES[self.kind]

    @property
    def digest(self) -> bytes:
        """The SHA-256 digest the card signs (inside a DigestInfo): one path for every purpose."""
        if self.document is not None:
            return self.document.digest
        assert self.challenge is not None  # noqa: S101 (__post_init__ guarantees it)
        return hashlib.sha256(protocol.signed_value(self.origin, self.challenge)).digest()

    def result(self, certificate: bytes, signature: bytes) -> protocol.Result:
        """The result object the page posts to the IdP unchanged."""
        if self.document is not None:
            return protocol.DocumentSignatureResult(
                self.origin, self.document.digest, certificate, signature
            )
        assert self.challenge is not None  # noqa: S101
        return protocol.SignatureResult(
            self.purpose, self.origin, self.challenge, certificate, signature
        )


@dataclass(frozen=True)
class Prompt:
    """What the PIN screen shows: who asks, and how many tries are left (None: unknown)."""

    request: Request
    tries_left: int | None

    @property
    def last_try(self) -> bool:
        return self.tries_left == 1


PURPOSES = {KeyKind.AUTH: "login", KeyKind.SIGN: "identity"}
"""The result's ``purpose`` per key for a challenge (bridge-protocol.md §5)."""

AskPin = Callable[[Prompt], Pin]
"""Returns a PIN of valid shape, or raises Cancelled / PinTimeout."""


def perform(request: Request, connect: Connector, ask_pin: AskPin) -> protocol.Result:
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
            signature = card.sign(request.kind, protocol.sha256_digest_info(request.digest))
    check_signature(certificate, signature, request.digest)
    return request.result(certificate, signature)


def check_signature(certificate_der: bytes, signature: bytes, digest: bytes) -> None:
    """The card's signature over DigestInfo(SHA-256, ``digest``) must verify with the certificate
    it gave us (RSA PKCS#1 v1.5), so a faulty card never hands the IdP garbage."""
    try:
        public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    except ValueError:
        raise errors.CardError("the card's certificate is not valid DER") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise errors.CardError("the card's certificate does not hold an RSA key")
    try:
        public_key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    except InvalidSignature:
        raise errors.CardError("the card's signature does not match its certificate") from None
