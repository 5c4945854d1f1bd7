"""The sandbox's state directory: CAs, the trust folder, cards, and the revocation registry.

Layout (stable: operators and tests point at these paths)::

    STATE/sandbox.json                      base URL and creation time
    STATE/trust/{auth,sign}/*.pem           the roots, shaped like an operator's J-LIS anchors
    STATE/ca/{auth,sign}/ca.pem, ca.key.pem, responder.pem, responder.key.pem
    STATE/ca/{auth,sign}/registry.json      serial -> status, revocation time and reason
    STATE/cards/CARD/card.json              facts, PIN hashes, tries left, serials
    STATE/cards/CARD/{auth,sign}.pem, {auth,sign}.key.pem
    STATE/cards/CARD/replaced/{auth,sign}-SERIAL.pem   certificates a renewal or change replaced
    STATE/feed/entries.jsonl, feed.pem, feed.key.pem   the revocation feed (sandbox/feed.py)
    STATE/linkage/links.jsonl               old serial -> new serial (sandbox/linkage.py)

Writers replace files atomically under a lock, so the OCSP responder can read while
``jpki-sandbox revoke`` writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox import feed, pki, profiles
from sandbox.citizens import Citizen, Gender
from sandbox.profiles import CertKind, Endpoints

DEFAULT_STATE = Path(__file__).resolve().parent.parent / ".sandbox"
PIN_TRIES = {CertKind.AUTH: 3, CertKind.SIGN: 5}
REVOCATION_REASONS = (
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "privilegeWithdrawn",
    "aACompromise",
)
"""RFC 5280 CRLReason names accepted by ``revoke``; certificateHold has its own command."""


class SandboxError(Exception):
    """A mistake the operator can fix; the CLI prints it and exits non-zero."""


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    tmp.replace(path)


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_issuer(cert_path: Path, key_path: Path) -> pki.Issuer:
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    return pki.Issuer(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))  # type: ignore[arg-type]


def hash_pin(pin: str, salt: bytes) -> str:
    """The card compares PINs; the sandbox keeps only a salted hash of them on disk."""
    return hashlib.sha256(salt + pin.encode("ascii")).hexdigest()


@dataclass
class RegistryEntry:
    """One issued certificate's status as the CA knows it."""

    card: str
    not_after: str
    status: str = "good"  # good | revoked | hold
    revoked_at: str | None = None
    reason: str | None = None
    released_at: str | None = None


@dataclass
class CardRecord:
    """Everything about one virtual card but its keys and certificates."""

    id: str
    name: str
    address: str
    birthdate: str
    gender: str
    issued_at: str
    pin_salt: str
    pin_hashes: dict[str, str]
    tries_left: dict[str, int]
    serials: dict[str, str] = field(default_factory=dict)
    replaces: str | None = None
    """The card this one was reissued for (sandbox/lifecycle.py)."""
    replaced_by: str | None = None
    """The card reissued in this one's place; this one's certificates are revoked."""

    def citizen(self) -> Citizen:
        return Citizen(
            self.name, self.address, dt.date.fromisoformat(self.birthdate), Gender(self.gender)
        )

    def pin_matches(self, kind: CertKind, pin: str) -> bool:
        expected = self.pin_hashes[kind]
        return hmac.compare_digest(expected, hash_pin(pin, bytes.fromhex(self.pin_salt)))


class SandboxState:
    """A state directory; :meth:`init` creates it, the constructor opens an existing one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not (self.root / "sandbox.json").is_file():
            raise SandboxError(f"no sandbox state in {self.root}: run 'jpki-sandbox init' first")
        self.settings = json.loads((self.root / "sandbox.json").read_text())
        self.endpoints = Endpoints(self.settings["base_url"])

    @classmethod
    def init(
        cls,
        root: Path,
        base_url: str = pki.DEFAULT_BASE_URL,
        organization: str = profiles.TEST_ORGANIZATION,
    ) -> SandboxState:
        """Create the CAs once; a second call keeps them and only updates nothing.

        ``organization``: the roots' O= (``JPKI-TEST`` by default, which only development and
        testing accept); another name makes stand-in roots a production configuration trusts,
        for tests of the production topology (tests/production)."""
        root = Path(root)
        if (root / "sandbox.json").is_file():
            state = cls(root)
            state.feed_signer()
            return state
        now = dt.datetime.now(dt.UTC)
        for kind in CertKind:
            ca = pki.make_ca(kind, now=now, organization=organization)
            folder = root / "ca" / kind
            write_atomic(folder / "ca.pem", pem(ca.certificate))
            write_atomic(folder / "ca.key.pem", key_pem(ca.key), 0o600)  # type: ignore[arg-type]
            write_atomic(folder / "responder.pem", pem(ca.responder.certificate))
            write_atomic(folder / "responder.key.pem", key_pem(ca.responder.key), 0o600)  # type: ignore[arg-type]
            write_atomic(folder / "registry.json", b"{}")
            write_atomic(root / "trust" / kind / f"jpki-test-{kind}-ca.pem", pem(ca.certificate))
        settings = {"base_url": base_url, "created_at": now.isoformat()}
        write_atomic(root / "sandbox.json", json.dumps(settings, indent=2).encode())
        state = cls(root)
        state.feed_signer()
        return state

    # --- CAs -------------------------------------------------------------------------------

    def ca(self, kind: CertKind) -> pki.CertificateAuthority:
        folder = self.root / "ca" / kind
        root = load_issuer(folder / "ca.pem", folder / "ca.key.pem")
        responder = load_issuer(folder / "responder.pem", folder / "responder.key.pem")
        return pki.CertificateAuthority(kind, root, responder)

    def trust_dir(self, kind: CertKind) -> Path:
        return self.root / "trust" / kind

    def feed_signer(self) -> pki.Issuer:
        """The revocation feed's key and certificate, under the authentication CA (made once;
        states older than the feed get theirs on first use)."""
        return feed.ensure_signer(self.root, self.ca(CertKind.AUTH).root)

    def feed_certificate_path(self) -> Path:
        """``STATE/feed/feed.pem``: what the IdP's ``[jpki.revocation_feed] certificate`` names."""
        self.feed_signer()
        return feed.feed_dir(self.root) / "feed.pem"

    def _notify(
        self, kind: CertKind, serial: int, status: str, reason: str | None, at: dt.datetime
    ) -> None:
        """Append the change to the revocation feed (sandbox/feed.py)."""
        issuer = x509.load_pem_x509_certificate((self.root / "ca" / kind / "ca.pem").read_bytes())
        feed.append(
            self.root,
            issuer=issuer.subject,
            serial=serial,
            cert_type=str(kind),
            status=status,
            reason=reason,
            at=at,
        )

    # --- the revocation registry -----------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, kind: CertKind) -> Iterator[Path]:
        folder = self.root / "ca" / kind
        with (folder / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder / "registry.json"

    def registry(self, kind: CertKind) -> dict[int, RegistryEntry]:
        """Serial -> entry; read fresh each call so a running responder sees new revocations."""
        raw = json.loads((self.root / "ca" / kind / "registry.json").read_text())
        return {int(serial, 16): RegistryEntry(**entry) for serial, entry in raw.items()}

    def _update_registry(self, kind: CertKind, serial: int, change: dict) -> None:
        with self._locked(kind) as path:
            raw = json.loads(path.read_text())
            raw.setdefault(f"{serial:X}", {}).update(change)
            write_atomic(path, json.dumps(raw, indent=1).encode())

    def register(self, kind: CertKind, certificate: x509.Certificate, card: str) -> None:
        entry = RegistryEntry(card, certificate.not_valid_after_utc.isoformat())
        self._update_registry(kind, certificate.serial_number, asdict(entry))

    def revoke(
        self, card_id: str, kind: CertKind, reason: str, at: dt.datetime | None = None
    ) -> None:
        if reason not in REVOCATION_REASONS:
            raise SandboxError(
                f"unknown reason {reason!r}; one of: {', '.join(REVOCATION_REASONS)}"
            )
        serial, entry = self._entry(card_id, kind)
        if entry.status == "revoked":
            raise SandboxError(f"the {kind} certificate of card {card_id} is already revoked")
        self.revoke_serial(kind, serial, reason, at)

    def revoke_serial(
        self, kind: CertKind, serial: int, reason: str, at: dt.datetime | None = None
    ) -> None:
        """Revoke one issued certificate by serial (a card's current one or a replaced one):
        registry, hence CRLs and OCSP, and the revocation feed."""
        at = at or dt.datetime.now(dt.UTC)
        self._update_registry(
            kind, serial, {"status": "revoked", "reason": reason, "revoked_at": at.isoformat()}
        )
        self._notify(kind, serial, "revoked", reason, at)

    def hold(self, card_id: str, kind: CertKind, at: dt.datetime | None = None) -> None:
        serial, entry = self._entry(card_id, kind)
        if entry.status != "good":
            raise SandboxError(f"the {kind} certificate of card {card_id} is {entry.status}")
        at = at or dt.datetime.now(dt.UTC)
        self._update_registry(
            kind,
            serial,
            {
                "status": "hold",
                "reason": "certificateHold",
                "revoked_at": at.isoformat(),
                "released_at": None,
            },
        )
        self._notify(kind, serial, "on_hold", "certificateHold", at)

    def release(self, card_id: str, kind: CertKind, at: dt.datetime | None = None) -> None:
        serial, entry = self._entry(card_id, kind)
        if entry.status != "hold":
            raise SandboxError(f"the {kind} certificate of card {card_id} is not on hold")
        at = at or dt.datetime.now(dt.UTC)
        self._update_registry(
            kind,
            serial,
            {"status": "good", "reason": None, "revoked_at": None, "released_at": at.isoformat()},
        )
        self._notify(kind, serial, "released", "removeFromCRL", at)

    def _entry(self, card_id: str, kind: CertKind) -> tuple[int, RegistryEntry]:
        serial = int(self.card(card_id).serials[kind], 16)
        return serial, self.registry(kind)[serial]

    # --- cards -----------------------------------------------------------------------------

    def card_dir(self, card_id: str) -> Path:
        if not card_id or not card_id.isalnum():
            raise SandboxError(f"not a card id: {card_id!r}")
        folder = self.root / "cards" / card_id
        if not (folder / "card.json").is_file():
            raise SandboxError(f"unknown card {card_id!r}; 'jpki-sandbox list' shows the cards")
        return folder

    def card(self, card_id: str) -> CardRecord:
        return CardRecord(**json.loads((self.card_dir(card_id) / "card.json").read_text()))

    def save_card(self, record: CardRecord) -> None:
        path = self.root / "cards" / record.id / "card.json"
        write_atomic(path, json.dumps(asdict(record), indent=2, ensure_ascii=False).encode())

    def card_ids(self) -> list[str]:
        folder = self.root / "cards"
        return sorted(p.parent.name for p in folder.glob("*/card.json")) if folder.is_dir() else []

    def certificate(self, card_id: str, kind: CertKind) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.card_dir(card_id) / f"{kind}.pem").read_bytes())

    def private_key(self, card_id: str, kind: CertKind) -> rsa.RSAPrivateKey:
        data = (self.card_dir(card_id) / f"{kind}.key.pem").read_bytes()
        return serialization.load_pem_private_key(data, None)  # type: ignore[return-value]

    def issue_card(self, citizen: Citizen, auth_pin: str, sign_pin: str) -> CardRecord:
        """A new card: two key pairs, two certificates, the PINs with full tries."""
        check_auth_pin(auth_pin)
        check_sign_pin(sign_pin)
        now = dt.datetime.now(dt.UTC)
        card_id = secrets.token_hex(6)
        salt = secrets.token_bytes(16)
        record = CardRecord(
            id=card_id,
            name=citizen.name,
            address=citizen.address,
            birthdate=citizen.birthdate.isoformat(),
            gender=str(citizen.gender),
            issued_at=now.isoformat(),
            pin_salt=salt.hex(),
            pin_hashes={
                CertKind.AUTH: hash_pin(auth_pin, salt),
                CertKind.SIGN: hash_pin(sign_pin, salt),
            },
            tries_left=dict(PIN_TRIES),
        )
        for kind in CertKind:
            self.write_certificate(record, kind, citizen, now)
        self.save_card(record)
        return record

    def write_certificate(
        self, record: CardRecord, kind: CertKind, citizen: Citizen, now: dt.datetime
    ) -> int:
        """A new key pair and certificate of ``kind`` for ``citizen`` on the card ``record``,
        written to the card's files (replacing any there) and registered; the record's serial
        is updated (the caller saves the record). Returns the new serial."""
        folder = self.root / "cards" / record.id
        key = pki.new_key()
        certificate = pki.make_card_certificate(
            kind, self.ca(kind).root, key.public_key(), citizen, now=now, endpoints=self.endpoints
        )
        write_atomic(folder / f"{kind}.key.pem", key_pem(key), 0o600)
        write_atomic(folder / f"{kind}.pem", pem(certificate))
        record.serials[kind] = f"{certificate.serial_number:X}"
        self.register(kind, certificate, record.id)
        return certificate.serial_number


def check_auth_pin(pin: str) -> None:
    """4 digits (docs/jpki.md §5)."""
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise SandboxError("the authentication PIN is 4 digits")


def check_sign_pin(pin: str) -> None:
    """6 to 16 of A-Z and 0-9 (docs/jpki.md §5)."""
    if not (6 <= len(pin) <= 16 and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in pin)):
        raise SandboxError("the signing PIN is 6 to 16 characters of A-Z and 0-9")
