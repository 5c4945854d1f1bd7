"""Durable model: a document a service asked a citizen to sign at home.

The document (a PDF) or only its SHA-256 digest is fixed when the service submits it: nothing
can change it afterwards, so what the citizen reviews is what gets signed. ``status`` moves
``pending`` → ``signed`` | ``declined`` exactly once, by a conditional UPDATE (``finish``), so
two racing answers cannot both sign. ``expired`` is never stored: it is ``pending`` past
``expires_at``.

While the citizen signs, ``prepared_*`` hold what the IdP derived from the document for this
attempt: the CMS signed attributes (and, for a PDF, the prepared file with its reserved
signature region); the card signs SHA-256 of those attributes, ``prepared_digest``.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, LargeBinary, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, now_seconds, stamped

PENDING, SIGNED, DECLINED, EXPIRED = "pending", "signed", "declined", "expired"


class DocumentRequest(db.Model):
    """One document submitted by one client for one citizen (known to it by ``sub``)."""

    __tablename__ = "document_request"
    __table_args__ = (
        Index("ix_document_request_status_expires", "status", "expires_at"),
        Index("ix_document_request_status_signed", "status", "signed_at"),
    )
    """What ``idp documents purge`` selects by, hourly on every node: no scan of the table."""

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    """256-bit random, base64url: also the capability in the review URL."""
    client_id: Mapped[str] = mapped_column(String(48), nullable=False, index=True)
    client_name: Mapped[str] = mapped_column(String(200), nullable=False)
    """The service's registered name when it submitted: what the citizen is shown."""
    sub: Mapped[str] = mapped_column(String(64), nullable=False)
    """The pairwise subject this client knows the citizen by."""
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    titles: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON ``{"ja": …, "en": …}``: the title per language, where the service gave one."""
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(43), nullable=False)
    """base64url SHA-256 of the document, bound at submission."""
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The PDF itself, or None when the client sent only the digest."""
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    created_at: Mapped[int] = stamped()
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False)
    prepared_attrs: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """DER of the SignerInfo's signedAttrs for the current signing attempt."""
    prepared_digest: Mapped[str | None] = mapped_column(String(43), nullable=True)
    """base64url SHA-256 of ``prepared_attrs``: the only value the card may sign."""
    prepared_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The PDF with its signature field and reserved /Contents, waiting for the CMS."""
    prepared_range: Mapped[str | None] = mapped_column(String(128), nullable=True)
    """``<byte-range digest hex>:<start>:<end>`` of the reserved /Contents region."""
    account_id: Mapped[str | None] = mapped_column(String(43), nullable=True)
    """Who signed or declined (set with the final status)."""
    signed_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cms: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """DER ContentInfo(SignedData), detached; it carries the signer's certificate."""
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    def current_status(self, now: int | None = None) -> str:
        """``expired`` for a pending request past its time; the stored status otherwise."""
        if self.status == PENDING and (now or now_seconds()) >= self.expires_at:
            return EXPIRED
        return self.status


def finish(document_id: str, status: str, values: dict, now: int | None = None) -> bool:
    """Move a pending, unexpired request to ``status`` with ``values``, once: True if this call
    did it. The condition is in the UPDATE, so of two concurrent answers only one wins."""
    now = now or now_seconds()
    result = db.session.execute(
        update(DocumentRequest)
        .where(
            DocumentRequest.id == document_id,
            DocumentRequest.status == PENDING,
            DocumentRequest.expires_at > now,
        )
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def take_prepared(document_id: str, prepared_digest: str) -> bool:
    """Use up the prepared digest (the signing step's challenge) for one answer, whatever that
    answer turns out to be: True if this call took it. A refused or replayed answer leaves
    nothing to sign; the page prepares again for the next attempt."""
    result = db.session.execute(
        update(DocumentRequest)
        .where(
            DocumentRequest.id == document_id,
            DocumentRequest.status == PENDING,
            DocumentRequest.prepared_digest == prepared_digest,
        )
        .values(prepared_digest=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
