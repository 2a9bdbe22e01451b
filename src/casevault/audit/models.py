"""Append-only, hash-chained audit events, the customers/cases each event exposed, and signed checkpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, UTCDateTime, utcnow

__all__ = ["AuditCheckpoint", "AuditEvent", "AuditSubject"]

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    """One audited action. `hash` = SHA-256 over the previous hash and the canonical event (see encoding.py).

    `seq` is assigned under the chain lock when the transaction commits, so it is gap-free; `fields` and `detail`
    are stored as canonical JSON text, which is exactly what the hash covers.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_actor_time", "actor_id", "occurred_at"),)

    seq: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    # Version of the canonical encoding the hash was computed with (encoding.ENCODING_VERSION).
    encoding: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_label: Mapped[str] = mapped_column(String(64))
    # Opaque reference of the session or token used (never the secret itself).
    session_ref: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    ip_prefix: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    target_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_id: Mapped[str | None] = mapped_column(String(64), default=None)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditSubject(Base):
    """A customer (and case) that an event exposed, with how much; lists record every id they returned."""

    __tablename__ = "audit_subjects"
    __table_args__ = (
        Index("ix_audit_subjects_customer", "customer_id", "event_seq"),
        # Covering on PostgreSQL: blast radius reads subjects by event without visiting the heap (ADR 0601:
        # list-heavy screen model over 100M events 2.44 s -> 1.25 s).
        Index("ix_audit_subjects_event_seq", "event_seq", postgresql_include=["customer_id", "case_id", "exposure"]),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("audit_events.seq"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    case_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    exposure: Mapped[str] = mapped_column(String(16))


class AuditCheckpoint(Base):
    """An Ed25519 signature over the chain head at `seq`; truncation past a checkpoint is detectable."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    event_count: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
