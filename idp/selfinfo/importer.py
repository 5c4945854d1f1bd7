"""Storing checked import records: idempotent, one account and category per row.

A record keyed by ``certificate`` finds the account bound to that user-authentication
certificate; if there is none, it creates the account and the binding, exactly as the card's
first login would have (``idp.login.accounts``), so data can be loaded before that login. The
same content again (``content_hash``) is "unchanged" and writes nothing. A rejected record never
undoes the others.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..storage.accounts import Account, CertificateBinding
from ..storage.db import db
from ..storage.selfinfo import SelfInformation, canonical_json, content_hash
from ..storage.selfinfo import find_self_information as find
from .formats import Item
from .records import CertificateKey, ImportRecord, Rejected, check_record

JST = dt.timezone(dt.timedelta(hours=9), "JST")
"""The day a record without ``as_of`` describes is the day of loading, in Japan."""
CONFLICT = (
    "a login or another import changed this account at the same moment; "
    "run the import again (it is idempotent)"
)
PLACEHOLDER_VALIDITY = 5 * 365 * 86400
"""A binding created without ``not_after`` gets five years, the validity of a
user-authentication certificate (docs/jpki.md §2); it is only informational (the login validates the
certificate itself)."""


@dataclass
class Summary:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    accounts_created: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(line, reason): the reason names fields, never their values."""

    @property
    def records(self) -> int:
        return self.loaded + self.updated + self.unchanged + len(self.rejected)


class Importer:
    """Feed it the items of one file in order, then ``finish()``; read ``summary`` at the end.

    Records are committed in batches of ``batch`` (one commit per record would make a large
    file take minutes). If a batch's commit fails (a login or another import created the same
    row meanwhile), it is rolled back and replayed one record at a time, so only the records
    concerned are rejected.
    """

    def __init__(self, now: int | None = None, batch: int = 200) -> None:
        self.summary = Summary()
        self._now = now
        self._batch_size = batch
        self._batch: list[tuple[int, ImportRecord]] = []
        self._pending: list[tuple[str, bool]] = []
        self._seen: dict[tuple[str, str], tuple[int, str]] = {}

    def add(self, item: Item) -> None:
        """Check one item and stage it; commit when the batch is full."""
        try:
            if item.error:
                raise Rejected(item.error)
            record = check_record(item.value)
            outcome, created = self._stage(item.line, record)
        except Rejected as e:
            self.summary.rejected.append((item.line, str(e)))
            return
        except IntegrityError:  # an autoflush of this batch met a concurrent change
            db.session.rollback()
            batch, self._batch, self._pending = self._batch, [], []
            self._replay([*batch, (item.line, record)])
            return
        self._batch.append((item.line, record))
        self._pending.append((outcome, created))
        if len(self._batch) >= self._batch_size:
            self._commit()

    def finish(self) -> Summary:
        """Commit what is staged; the summary lists rejections in line order."""
        self._commit()
        self.summary.rejected.sort()
        return self.summary

    def _commit(self) -> None:
        batch, pending = self._batch, self._pending
        self._batch, self._pending = [], []
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            self._replay(batch)
            return
        for outcome, created in pending:
            self._count(outcome, created)

    def _replay(self, batch: list[tuple[int, ImportRecord]]) -> None:
        """Stage and commit each record of a failed batch on its own."""
        for line, _ in batch:
            for key in [k for k, (seen_line, _) in self._seen.items() if seen_line == line]:
                del self._seen[key]
        for line, record in batch:
            try:
                outcome, created = self._stage(line, record)
                db.session.commit()
            except Rejected as e:
                self.summary.rejected.append((line, str(e)))
                continue
            except IntegrityError:
                db.session.rollback()
                self.summary.rejected.append((line, CONFLICT))
                continue
            self._count(outcome, created)

    def _count(self, outcome: str, created: bool) -> None:
        setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)
        self.summary.accounts_created += created

    def _stage(self, line: int, record: ImportRecord) -> tuple[str, bool]:
        """Put the record's change in the session (uncommitted); its outcome and whether it
        created an account."""
        now = self._now or int(time.time())
        account_id, created = self._account(record, now)
        digest = content_hash(record.data, record.as_of)
        if seen := self._seen.get((account_id, record.category)):
            if seen[1] != digest:
                raise Rejected(
                    f"line {seen[0]} already gave this account's {record.category}; "
                    "a file holds one record per account and category"
                )
            return "unchanged", False
        self._seen[(account_id, record.category)] = (line, digest)
        row = find(account_id, record.category)
        if row is not None and row.content_hash == digest:
            return "unchanged", created
        outcome = "loaded" if row is None else "updated"
        row = row or SelfInformation(account_id=account_id, category=record.category)
        row.data = canonical_json(record.data)
        row.content_hash = digest
        row.as_of = record.as_of or dt.datetime.fromtimestamp(now, JST).date().isoformat()
        row.updated_at = now
        db.session.add(row)
        return outcome, created

    def _account(self, record: ImportRecord, now: int) -> tuple[str, bool]:
        """The account id the record is for, and whether it was created (not yet committed)."""
        if record.account is not None:
            if db.session.get(Account, record.account) is None:
                raise Rejected("unknown account: no account has this id")
            return record.account, False
        assert record.certificate is not None  # noqa: S101 (check_record guarantees one key)
        binding = _binding(record.certificate)
        if binding is not None:
            return binding.account_id, False
        return _create_account(record.certificate, now), True


def _binding(key: CertificateKey) -> CertificateBinding | None:
    query = select(CertificateBinding).filter_by(issuer_hash=key.issuer_hash, serial=key.serial)
    return db.session.execute(query).scalar_one_or_none()


def _create_account(key: CertificateKey, now: int) -> str:
    """An account and its certificate binding, as a first login makes them (not committed)."""
    account = Account(id=secrets.token_urlsafe(32), created_at=now, last_login_at=now)
    binding = CertificateBinding(
        account_id=account.id,
        issuer_hash=key.issuer_hash,
        serial=key.serial,
        not_after=key.not_after or now + PLACEHOLDER_VALIDITY,
        created_at=now,
        last_used_at=now,
    )
    db.session.add_all([account, binding])
    return account.id
