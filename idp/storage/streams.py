"""Durable models: Shared Signals event streams and their outbox of Security Event Tokens.

One ``SignalStream`` per relying party (OpenID Shared Signals Framework 1.0 §8): how its
events reach it (push to its URL, or poll from ours) and which it asked for. A ``SignalEvent``
is one SET owed to one stream, written when the IdP learns of the change and kept until the
receiver acknowledged it (a push answered 202, a poll's ``ack``), then until it expires, so a
change reported twice (a CRL and the feed) is recognised by its ``jti`` and not sent again.
The SET is kept as its claims, not signed: it is signed with the current key at each delivery.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import db, stamped


class SignalStream(db.Model):
    """A client's event stream; ``client_id`` is unique: one stream per client."""

    __tablename__ = "ssf_stream"

    stream_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), nullable=False, unique=True)
    delivery_method: Mapped[str] = mapped_column(String(32), nullable=False)
    """``urn:ietf:rfc:8935`` (push) or ``urn:ietf:rfc:8936`` (poll)."""
    endpoint_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The receiver's URL for push; None for poll (the IdP's poll URL is derived)."""
    sealed_authorization: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The push ``authorization_header`` the receiver gave, sealed like signing keys."""
    events_requested: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    """JSON list of event type URIs the receiver asked for."""
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="enabled")
    """``enabled``, ``paused`` (events held) or ``disabled`` (events neither sent nor held)."""
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[int] = stamped()
    updated_at: Mapped[int] = stamped()


class RemovedSubject(db.Model):
    """A subject the receiver removed from its stream (subjects are in by default, "ALL")."""

    __tablename__ = "ssf_removed_subject"

    stream_id: Mapped[str] = mapped_column(
        String(43), db.ForeignKey("ssf_stream.stream_id", ondelete="CASCADE"), primary_key=True
    )
    sub: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The client's own ``sub`` of the person (the ``iss`` is always this IdP)."""
    created_at: Mapped[int] = stamped()


class SignalEvent(db.Model):
    """One SET owed to one stream: the durable outbox of push and poll."""

    __tablename__ = "ssf_event"
    __table_args__ = (
        UniqueConstraint("stream_id", "jti", name="uq_ssf_event_stream_jti"),
        Index("ix_ssf_event_stream_acked", "stream_id", "acked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[str] = mapped_column(
        String(43), db.ForeignKey("ssf_stream.stream_id", ondelete="CASCADE"), nullable=False
    )
    jti: Mapped[str] = mapped_column(String(43), nullable=False)
    event_type: Mapped[str] = mapped_column(String(255), nullable=False)
    claims: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON: the SET's claims (iss, aud, jti, iat, txn, sub_id, events), signed at delivery."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    """When the push courier may next try it (leases move it forward, like logout deliveries)."""
    acked_at: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """When the receiver acknowledged it; None while it is owed."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """What the receiver said at the last failed push (its error code), for the operator."""
    created_at: Mapped[int] = stamped()
    expires_at: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    """After it the event is dropped, acknowledged or not (the retention)."""
