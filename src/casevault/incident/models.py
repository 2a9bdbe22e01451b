"""The incidents table: one recorded blast-radius computation (and, for containment, what was done)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, UTCDateTime, enum_column, utcnow

__all__ = ["Incident", "IncidentKind"]


class IncidentKind(StrEnum):
    """Why the record exists: a stored report, or a containment that also stored the report."""

    REPORT = "report"
    CONTAINMENT = "containment"


class Incident(Base):
    """Who asked, why, when, the exact query, and the audit-chain head the report was computed against.

    `head_seq`/`head_hash` pin the report: recomputing with events up to `head_seq` must give the same
    `report_digest`, and the event at `head_seq` must still carry `head_hash` (see services.verify_incident).
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_subject_created", "subject_staff_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[IncidentKind] = mapped_column(enum_column(IncidentKind, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_by_label: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    # The account under investigation (staff id and the username it had then).
    subject_staff_id: Mapped[uuid.UUID] = mapped_column()
    subject_username: Mapped[str] = mapped_column(String(64))
    # Query parameters, exactly as resolved (until is never open: "now" is fixed at computation).
    model: Mapped[str] = mapped_column(String(16))
    sessions: Mapped[list[str]] = mapped_column(JSON, default=list)
    window_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    window_until: Mapped[datetime] = mapped_column(UTCDateTime())
    # The audit chain the report was computed against.
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    checkpoint_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # None when verification was skipped; the message says what verify() found.
    chain_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    chain_message: Mapped[str | None] = mapped_column(String(200), default=None)
    # SHA-256 over the canonical report body (customers and breakdowns), for later comparison.
    report_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    customers_affected: Mapped[int] = mapped_column(Integer)
    customers_revealed: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(1000))
    contained_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"Incident(id={self.id!s}, kind={self.kind!s}, model={self.model!r})"
