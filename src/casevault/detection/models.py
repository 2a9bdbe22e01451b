"""Alerts: records the security team reviews (MFA resets now; break-glass and read budgets later)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, UTCDateTime, enum_column, utcnow

__all__ = ["Alert", "AlertKind", "AlertStatus", "Severity"]


class AlertKind(StrEnum):
    """What happened; add members as detection rules are added (`object.verb` like audit actions)."""

    MFA_RESET = "mfa.reset"
    SIGNIN_LOCKED_OUT = "signin.locked_out"
    SESSION_HIJACK_SUSPECTED = "session.hijack_suspected"
    BREAK_GLASS_STARTED = "break_glass.started"
    # Raised by access/budgets.py (which cannot import this enum): a read budget's hard limit was crossed.
    READ_BUDGET_EXCEEDED = "budget.exceeded"


class Severity(StrEnum):
    """How soon someone should look."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """Where the alert is in review."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Alert(Base):
    """One alert. `detail` holds references and counts only, never PII or secrets."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_raised", "status", "raised_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, 64))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 16))
    status: Mapped[AlertStatus] = mapped_column(enum_column(AlertStatus, 16), default=AlertStatus.OPEN)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_label: Mapped[str] = mapped_column(String(64))
    subject_staff_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who last acknowledged or closed it, when, and their note (redacted, like every reason: ADR 0563).
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note_redacted: Mapped[str | None] = mapped_column(String(500), default=None)

    def __repr__(self) -> str:
        return f"Alert(kind={self.kind!s}, severity={self.severity!s}, status={self.status!s})"
