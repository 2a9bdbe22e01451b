"""Staff accounts and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.access.roles import Role
from casevault.db.base import Base, UTCDateTime, enum_column, utcnow

__all__ = ["ApiToken", "Role", "Staff", "StaffStatus"]


class StaffStatus(StrEnum):
    """Suspended staff can neither sign in nor use tokens."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class Staff(Base):
    """A person who works in casevault. Staff names are not customer PII and are stored in clear."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    status: Mapped[StaffStatus] = mapped_column(enum_column(StaffStatus, 16), default=StaffStatus.ACTIVE)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Staff(username={self.username!r}, role={self.role!s}, status={self.status!s})"


class ApiToken(Base):
    """A scoped, expiring bearer token; only a SHA-256 of the 256-bit secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, shown in listings so an operator can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"ApiToken(prefix={self.prefix!r}, scopes={self.scopes!r})"
