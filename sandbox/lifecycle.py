"""A card over the years: renewal, reissue, and a changed address or name (docs/jpki.md §10).

What J-LIS does, as far as the sandbox models it:

- **Renewal** (``renew``): new key pairs written on the same card and new certificates for the
  same holder; the PINs stay; the replaced certificates are revoked as ``superseded``.
- **Reissue** (``reissue``): a new card for the same citizen (same basic four facts), new keys and
  certificates; the old card's certificates are revoked as ``keyCompromise`` by default (a card is
  mostly reissued because it was lost: its keys are out of the holder's hands), or
  ``cessationOfOperation`` for a card handed back damaged.
- **Move / rename**: the signing certificate, which carries the address and name, is revoked as
  ``affiliationChanged`` and a new one written with the new facts; the authentication
  certificate, which carries neither, is unchanged.

Every revocation goes through :meth:`SandboxState.revoke_serial`, so it reaches the registry (OCSP,
full and delta CRLs) and the revocation feed exactly as ``jpki-sandbox revoke`` does, and each
replacement is recorded in the linkage record (:mod:`sandbox.linkage`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from sandbox import linkage
from sandbox.citizens import Citizen
from sandbox.profiles import CertKind
from sandbox.state import (
    PIN_TRIES,
    CardRecord,
    SandboxError,
    SandboxState,
    check_auth_pin,
    check_sign_pin,
    hash_pin,
    pem,
    write_atomic,
)

RENEWAL_REASON = "superseded"
CHANGE_REASON = "affiliationChanged"
REISSUE_REASONS = ("keyCompromise", "cessationOfOperation")


@dataclass(frozen=True)
class Replacement:
    """One certificate replaced by another of the same holder and type."""

    kind: CertKind
    old_serial: int
    new_serial: int
    reason: str
    old_card: str
    new_card: str


def _usable(state: SandboxState, record: CardRecord, kinds: Iterable[CertKind]) -> None:
    """SandboxError unless the card is current and each of its ``kinds`` certificates is good."""
    if record.replaced_by:
        raise SandboxError(f"card {record.id} was reissued as card {record.replaced_by}")
    for kind in kinds:
        status = state.registry(kind)[int(record.serials[kind], 16)].status
        if status != "good":
            raise SandboxError(
                f"the {kind} certificate of card {record.id} is {status}; only a good "
                "certificate is renewed or changed (reissue the card instead)"
            )


def _citizen(state: SandboxState, record: CardRecord) -> Citizen:
    """The holder as the card states them, keeping the romanised municipality of the current
    signing certificate's subject (docs/jpki.md §2) when it has one."""
    localities = state.certificate(record.id, CertKind.SIGN).subject.get_attributes_for_oid(
        NameOID.LOCALITY_NAME
    )
    romaji = str(localities[1].value) if len(localities) == 2 else None
    citizen = record.citizen()
    if romaji and romaji.isascii():
        citizen = dataclasses.replace(citizen, municipality_romaji=romaji)
    return citizen


def _keep_old(state: SandboxState, record: CardRecord, kind: CertKind) -> int:
    """Copy the card's current certificate to ``replaced/`` (its key is overwritten, as on a
    real card) and return its serial."""
    serial = int(record.serials[kind], 16)
    old = state.certificate(record.id, kind)
    write_atomic(state.card_dir(record.id) / "replaced" / f"{kind}-{serial:X}.pem", pem(old))
    return serial


def _link(state: SandboxState, done: Replacement, event: str, at: dt.datetime) -> None:
    issuer = x509.load_pem_x509_certificate((state.root / "ca" / done.kind / "ca.pem").read_bytes())
    linkage.append(
        state.root,
        issuer=issuer.subject,
        cert_type=str(done.kind),
        old_serial=done.old_serial,
        new_serial=done.new_serial,
        event=event,
        reason=done.reason,
        at=at,
    )


def _replace(
    state: SandboxState,
    record: CardRecord,
    kinds: Iterable[CertKind],
    citizen: Citizen,
    reason: str,
    now: dt.datetime,
    event: str,
) -> list[Replacement]:
    """New certificates on the same card, then the old ones revoked (the new ones exist first,
    so the holder is never without a certificate the registry knows)."""
    old = {kind: _keep_old(state, record, kind) for kind in kinds}
    new = {kind: state.write_certificate(record, kind, citizen, now) for kind in old}
    state.save_card(record)
    done = [Replacement(k, old[k], new[k], reason, record.id, record.id) for k in old]
    for replacement in done:
        _link(state, replacement, event, now)
        state.revoke_serial(replacement.kind, replacement.old_serial, reason, now)
    return done


def renew(
    state: SandboxState, card_id: str, kinds: Iterable[CertKind], now: dt.datetime | None = None
) -> list[Replacement]:
    """New keys and certificates on the same card; the old certificates revoked as superseded."""
    record = state.card(card_id)
    kinds = list(kinds)
    _usable(state, record, kinds)
    citizen = _citizen(state, record)
    now = now or dt.datetime.now(dt.UTC)
    return _replace(state, record, kinds, citizen, RENEWAL_REASON, now, "renew")


def reissue(
    state: SandboxState,
    card_id: str,
    reason: str = REISSUE_REASONS[0],
    *,
    auth_pin: str | None = None,
    sign_pin: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[CardRecord, list[Replacement]]:
    """A new card for the same citizen; the old card's certificates not yet revoked are revoked
    with ``reason``. The PINs carry over unless new ones are given (a counter sets them anew)."""
    if reason not in REISSUE_REASONS:
        raise SandboxError(f"a reissued card's certificates are revoked as one of: "
                           f"{', '.join(REISSUE_REASONS)}")  # fmt: skip
    old = state.card(card_id)
    if old.replaced_by:
        raise SandboxError(f"card {old.id} was already reissued as card {old.replaced_by}")
    salt = bytes.fromhex(old.pin_salt)
    hashes = dict(old.pin_hashes)
    if auth_pin is not None:
        check_auth_pin(auth_pin)
        hashes[CertKind.AUTH] = hash_pin(auth_pin, salt)
    if sign_pin is not None:
        check_sign_pin(sign_pin)
        hashes[CertKind.SIGN] = hash_pin(sign_pin, salt)
    now = now or dt.datetime.now(dt.UTC)
    citizen = _citizen(state, old)
    new = dataclasses.replace(
        old,
        id=secrets.token_hex(6),
        issued_at=now.isoformat(),
        pin_hashes=hashes,
        tries_left=dict(PIN_TRIES),
        serials={},
        replaces=old.id,
        replaced_by=None,
    )
    for kind in CertKind:
        state.write_certificate(new, kind, citizen, now)
    state.save_card(new)
    old.replaced_by = new.id
    state.save_card(old)
    registries = {kind: state.registry(kind) for kind in CertKind}
    replacements = []
    for kind in CertKind:
        serial = int(old.serials[kind], 16)
        entry = registries[kind][serial]
        revoked = entry.status == "revoked"
        done = Replacement(
            kind, serial, int(new.serials[kind], 16), (entry.reason if revoked else None) or reason,
            old.id, new.id,
        )  # fmt: skip
        _link(state, done, "reissue", now)  # linked before revoked: a feed reader finds the link
        if not revoked:
            state.revoke_serial(kind, serial, reason, now)
        replacements.append(done)
    return new, replacements


def move(
    state: SandboxState, card_id: str, address: str, now: dt.datetime | None = None
) -> Replacement:
    """The holder moved: a new signing certificate with the new address."""
    address = address.strip()
    if not address:
        raise SandboxError("the new address is empty")
    record = state.card(card_id)
    _usable(state, record, [CertKind.SIGN])
    if address == record.address:
        raise SandboxError(f"card {card_id} already has the address {address}")
    citizen = dataclasses.replace(record.citizen(), address=address)
    try:
        citizen.prefecture  # noqa: B018  (validates the address before any key is made)
    except ValueError as error:
        raise SandboxError(str(error)) from None
    record.address = address
    return _change(state, record, citizen, now, "move")


def rename(
    state: SandboxState, card_id: str, name: str, now: dt.datetime | None = None
) -> Replacement:
    """The holder's name changed: a new signing certificate with the new name. ``name`` is
    family name, a space (or U+3000), given name, as for ``issue-card``."""
    family, _, given = name.strip().replace("\u3000", " ").partition(" ")
    given = given.strip()
    if not family:
        raise SandboxError("the new name is empty")
    name = f"{family}\u3000{given}" if given else family
    record = state.card(card_id)
    _usable(state, record, [CertKind.SIGN])
    if name == record.name:
        raise SandboxError(f"card {card_id} already has the name {name}")
    record.name = name
    citizen = dataclasses.replace(_citizen(state, record), name=name)
    return _change(state, record, citizen, now, "rename")


def _change(
    state: SandboxState, record: CardRecord, citizen: Citizen, now: dt.datetime | None, event: str
) -> Replacement:
    now = now or dt.datetime.now(dt.UTC)
    return _replace(state, record, [CertKind.SIGN], citizen, CHANGE_REASON, now, event)[0]
