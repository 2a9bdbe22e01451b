"""Just-in-time access grants and break-glass sessions: the two ways out of an agent's case scope.

Both rows hold references (staff, case, queue, customer ids and the case number) and the reason as the
redactor left it; never a clear personal value. A grant is live while approved and unexpired; a break-glass
session is live until it expires, and stays on the review list until a different security officer reviews it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, UTCDateTime, enum_column, utcnow

__all__ = ["AccessGrant", "BreakGlassSession", "GrantStatus"]


class GrantStatus(StrEnum):
    """Where a request is; "expired" is derived from `expires_at`, never stored."""

    PENDING = "pending"
    APPROVED = "approved"
    REVOKED = "revoked"


class AccessGrant(Base):
    """An agent's request for one out-of-scope case, approved by a different supervisor, with an expiry."""

    __tablename__ = "access_grants"
    __table_args__ = (
        Index("ix_access_grants_requester_status", "requester_id", "status"),
        Index("ix_access_grants_queue_status", "queue_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_number: Mapped[str] = mapped_column(String(20))
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    reason_redacted: Mapped[str] = mapped_column(String(500))
    reason_length: Mapped[int] = mapped_column(Integer)
    status: Mapped[GrantStatus] = mapped_column(enum_column(GrantStatus, 16), default=GrantStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"AccessGrant(id={self.id}, case={self.case_number!r}, status={self.status!s})"


class BreakGlassSession(Base):
    """Self-granted emergency access to one case: alerted at once, short-lived, reviewed afterwards."""

    __tablename__ = "break_glass_sessions"
    __table_args__ = (
        Index("ix_break_glass_staff_expires", "staff_id", "expires_at"),
        Index("ix_break_glass_reviewed", "reviewed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_number: Mapped[str] = mapped_column(String(20))
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    reason_redacted: Mapped[str] = mapped_column(String(500))
    reason_length: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    alert_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    review_note_redacted: Mapped[str | None] = mapped_column(String(500), default=None)

    def __repr__(self) -> str:
        return f"BreakGlassSession(id={self.id}, case={self.case_number!r})"
