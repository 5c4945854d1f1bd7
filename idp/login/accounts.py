"""Which account a proven certificate logs in to (docs/architecture.md §3, step 5).

The key is the certificate's issuer and serial number, as ``CertificateBinding`` stores them:
never the certificate, never anything read from the card beyond what the validator proved.

A renewed card has a new certificate with a new serial (docs/domain.md §2) and an opaque subject
that differs too, so nothing in it says "the same person". Such a certificate gets a new account.
Linking it to the old one is a deliberate act for the account pages (log in with the old card, then
prove the new one): the IdP never links by the My Number, nor by the signing certificate's four
facts without the person's consent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from ..jpki.validator import ValidatedCertificate
from ..storage.accounts import Account, CertificateBinding
from ..storage.db import db, run


def issuer_hash(validated: ValidatedCertificate) -> str:
    """SHA-256 hex of the issuer Name's DER encoding."""
    return hashlib.sha256(validated.certificate.issuer.public_bytes()).hexdigest()


def serial_of(validated: ValidatedCertificate) -> str:
    return f"{validated.certificate.serial_number:X}"


TOUCH_SECONDS = 3600
"""``last_used_at``/``last_login_at`` are kept to the hour: rewriting them on every login cost a
commit per login (bench/results/flow-profile.md), and nothing needs them finer."""


def account_for(validated: ValidatedCertificate, now: dt.datetime) -> str:
    """The account id bound to this certificate, creating both on its first login."""
    key = (issuer_hash(validated), serial_of(validated))
    stamp = int(now.timestamp())
    # An operator's import may have created the binding before the first login, without the
    # certificate at hand: the validated certificate says when it really expires.
    not_after = int(validated.certificate.not_valid_after_utc.timestamp())
    found = run(_BINDING_ROW, {"issuer": key[0], "serial": key[1]}).one_or_none()
    if found is None:
        try:
            return _create(key, not_after, stamp)
        except IntegrityError:  # the same card logged in twice at once: the other one won
            db.session.rollback()
            found = run(_BINDING_ROW, {"issuer": key[0], "serial": key[1]}).one()
    account_id, last_used_at, known_not_after = found
    if stamp - last_used_at >= TOUCH_SECONDS or known_not_after != not_after:
        _touch(key, account_id, stamp, not_after)
    return account_id


_BINDING_ROW = (
    select(
        CertificateBinding.account_id, CertificateBinding.last_used_at, CertificateBinding.not_after
    )
    .where(CertificateBinding.issuer_hash == bindparam("issuer"))
    .where(CertificateBinding.serial == bindparam("serial"))
)


def _touch(key: tuple[str, str], account_id: str, stamp: int, not_after: int) -> None:
    binding = (CertificateBinding.issuer_hash == key[0]) & (CertificateBinding.serial == key[1])
    db.session.execute(
        update(CertificateBinding).where(binding).values(last_used_at=stamp, not_after=not_after)
    )
    db.session.execute(update(Account).filter_by(id=account_id).values(last_login_at=stamp))
    db.session.commit()


def account_of(validated: ValidatedCertificate) -> str | None:
    """The account this certificate is bound to, or None: a lookup only, nothing is created or
    touched. The consent step-up uses it to check that the card is the logged-in person's."""
    binding = _binding(issuer_hash(validated), serial_of(validated))
    return binding.account_id if binding is not None else None


def _binding(issuer: str, serial: str) -> CertificateBinding | None:
    query = select(CertificateBinding).filter_by(issuer_hash=issuer, serial=serial)
    return db.session.execute(query).scalar_one_or_none()


def _create(key: tuple[str, str], not_after: int, stamp: int) -> str:
    account = Account(id=secrets.token_urlsafe(32), created_at=stamp, last_login_at=stamp)
    binding = CertificateBinding(
        account_id=account.id,
        issuer_hash=key[0],
        serial=key[1],
        not_after=not_after,
        created_at=stamp,
        last_used_at=stamp,
    )
    db.session.add_all([account, binding])
    account_id = account.id  # read before the commit expires it
    db.session.commit()
    return account_id
