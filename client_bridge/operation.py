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

A two-key operation (``pair``, bridge-protocol.md §9) asks for both PINs at once and does phase 2
for both keys in one PC/SC transaction of one connection: VERIFY the authentication PIN, VERIFY
the signing password (not sent when the first was wrong), then one signature with each key.
Both certificates come from the card in that same session.
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
from client_bridge.pin import KeyKind, Pin, Pins
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
    ``pair`` (version 2, signing key requests only) adds the authentication key's signature.
    """

    kind: KeyKind
    origin: str
    challenge: bytes | None
    service: str
    document: Document | None = None
    pair: bool = False
    lang: str | None = None
    """The language the page asked the PIN window to speak (None: the browser's)."""

    def __post_init__(self) -> None:
        if (self.challenge is None) == (self.document is None):
            raise ValueError("a request has either a challenge or a document")
        if (self.document is not None or self.pair) and self.kind is not KeyKind.SIGN:
            raise ValueError("documents and two-key proofs are started with the signing key")

    @property
    def keys(self) -> tuple[KeyKind, ...]:
        """The keys that sign, in the order their PINs are verified (authentication first)."""
        return (KeyKind.AUTH, KeyKind.SIGN) if self.pair else (self.kind,)

    def digest_for(self, kind: KeyKind) -> bytes:
        """What ``kind`` signs: the request's digest; in a pair, the authentication key signs the
        origin-bound value of the challenge or, for a document, of its digest (§9)."""
        if kind is KeyKind.AUTH and self.pair:
            value = self.document.digest if self.document is not None else self.challenge
            assert value is not None  # noqa: S101 (__post_init__ guarantees it)
            return hashlib.sha256(protocol.signed_value(self.origin, value)).digest()
        return self.digest

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

    def result(self, certificates: dict[KeyKind, bytes], signatures: dict[KeyKind, bytes]
               ) -> protocol.Result:  # fmt: skip
        """The result object the page posts to the IdP unchanged."""
        certificate, signature = certificates[self.kind], signatures[self.kind]
        if self.pair:
            value = self.document.digest if self.document is not None else self.challenge
            assert value is not None  # noqa: S101
            return protocol.PairResult(
                self.purpose, self.origin, value, certificates[KeyKind.AUTH],
                signatures[KeyKind.AUTH], certificate, signature,
            )  # fmt: skip
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
    """What the PIN screen shows: who asks, and how many tries are left (None: unknown).

    ``tries`` holds each key's count for a two-key operation; ``tries_left`` is then the
    smaller one, and ``last_try`` is true when either PIN is on its last try."""

    request: Request
    tries_left: int | None
    tries: tuple[tuple[KeyKind, int | None], ...] = ()

    @property
    def last_try(self) -> bool:
        return bool(self.last_keys)

    @property
    def last_keys(self) -> tuple[KeyKind, ...]:
        """The keys whose PIN is on its last try."""
        if self.tries:
            return tuple(kind for kind, left in self.tries if left == 1)
        return (self.request.kind,) if self.tries_left == 1 else ()

    @classmethod
    def for_keys(cls, request: Request, tries: dict[KeyKind, int | None]) -> Prompt:
        if not request.pair:
            return cls(request, tries[request.kind])
        known = [left for left in tries.values() if left is not None]
        return cls(request, min(known) if known else None, tuple(tries.items()))


PURPOSES = {KeyKind.AUTH: "login", KeyKind.SIGN: "identity"}
"""The result's ``purpose`` per key for a challenge (bridge-protocol.md §5)."""

AskPin = Callable[[Prompt], Pin | Pins]
"""Returns the PIN (for a two-key operation: both, as :class:`Pins`) of valid shape, or raises
Cancelled / PinTimeout."""


def perform(request: Request, connect: Connector, ask_pin: AskPin) -> protocol.Result:
    """Run the whole operation; every failure is a :class:`errors.BridgeError`."""
    certificates: dict[KeyKind, bytes] = {}
    signatures: dict[KeyKind, bytes] = {}
    with connect() as connection:
        card = JpkiCard(connection)
        with connection.transaction():
            card.select_application()
            tries = {kind: card.tries_left(kind) for kind in request.keys}
            for kind, left in tries.items():
                if left == 0:
                    raise errors.PinLocked(
                        f"{kind} PIN blocked", pin=_named(request, kind), key=kind.value
                    )
            if KeyKind.AUTH in request.keys:
                certificates[KeyKind.AUTH] = card.read_certificate(KeyKind.AUTH)
        with Pins.of(ask_pin(Prompt.for_keys(request, tries))) as pins, connection.transaction():
            if pins.kinds != frozenset(request.keys):
                raise errors.PinFormat("a PIN for the other key")
            card.select_application()
            for kind in request.keys:  # a wrong first PIN stops here: the second is not sent
                _verify(card, pins[kind], _named(request, kind), kind)
            for kind in request.keys:
                if kind not in certificates:
                    certificates[kind] = card.read_certificate(kind)
                digest_info = protocol.sha256_digest_info(request.digest_for(kind))
                signatures[kind] = card.sign(kind, digest_info)
    for kind in request.keys:
        check_signature(certificates[kind], signatures[kind], request.digest_for(kind))
    return request.result(certificates, signatures)


def _named(request: Request, kind: KeyKind) -> str | None:
    """The key a PIN error names: only in a two-key operation, where the page must know which."""
    return kind.value if request.pair else None


def _verify(card: JpkiCard, pin: Pin, which: str | None, kind: KeyKind) -> None:
    """VERIFY, naming the key in a PIN error when the operation has two (§9); the error's
    sentence names the key's secret in any case."""
    try:
        card.verify(pin)
    except errors.WrongPin as wrong:
        raise errors.WrongPin(wrong.tries_left, pin=which, key=kind.value) from None
    except errors.PinLocked as locked:
        raise errors.PinLocked(locked.detail, pin=which, key=kind.value) from None


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
