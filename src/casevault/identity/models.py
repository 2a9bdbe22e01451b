"""Staff accounts, API tokens, sign-in sessions and second factors."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.access.roles import Role
from casevault.db.base import Base, UTCDateTime, enum_column, utcnow

__all__ = [
    "ApiToken",
    "MfaResetRequest",
    "RecoveryCode",
    "Role",
    "SigninThrottle",
    "Staff",
    "StaffSession",
    "StaffStatus",
    "TotpFactor",
    "WebauthnChallenge",
    "WebauthnCredential",
]


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
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

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


class StaffSession(Base):
    """A server-side sign-in session; the cookie carries a random secret of which only the SHA-256 is stored."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff_revoked", "staff_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The client the session is bound to: network prefix and a hash of the user-agent string.
    ip_prefix: Mapped[str | None] = mapped_column(String(64))
    user_agent_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    user_agent_label: Mapped[str] = mapped_column(String(64), default="")
    # None while only the password has been checked: such a session reaches nothing but the MFA routes.
    mfa_method: Mapped[str | None] = mapped_column(String(16), default=None)
    mfa_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Last second-factor check that qualifies for step-up (TOTP, or a passkey with user verification).
    stepped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Wrong second-factor answers on this session; too many and the session dies (password again, throttled).
    mfa_failures: Mapped[int] = mapped_column(Integer(), default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)

    def __repr__(self) -> str:
        return f"StaffSession(id={self.id!s}, mfa={self.mfa_method!r}, revoked={self.revoked_at is not None})"


class TotpFactor(Base):
    """A staff member's TOTP secret, wrapped by the key provider, and the last time-step accepted (replay guard)."""

    __tablename__ = "totp_factors"

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    secret_wrapped: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger(), default=None)

    def __repr__(self) -> str:
        return f"TotpFactor(confirmed={self.confirmed_at is not None})"


class WebauthnCredential(Base):
    """A registered passkey: its public key and the last signature counter the authenticator reported."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary())
    sign_count: Mapped[int] = mapped_column(BigInteger(), default=0)
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str] = mapped_column(String(36))
    backed_up: Mapped[bool] = mapped_column(Boolean(), default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"WebauthnCredential(id={self.id!s}, name={self.name!r})"


class WebauthnChallenge(Base):
    """A single-use challenge bound to one sign-in session and one purpose; deleted when it is answered."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_sessions.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """A one-time recovery code; codes carry 120 random bits, so a SHA-256 is a safe verifier."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SigninThrottle(Base):
    """Failure counters per account name or client address, keyed by a keyed hash (unknown names included)."""

    __tablename__ = "signin_throttles"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer(), default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Locked accounts stay locked until an admin runs `casevault staff unlock`.
    locked: Mapped[bool] = mapped_column(Boolean(), default=False)


class MfaResetRequest(Base):
    """One admin asks to reset someone's second factors; a different admin must approve before it happens."""

    __tablename__ = "mfa_reset_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
