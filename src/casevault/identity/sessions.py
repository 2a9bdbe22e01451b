"""Server-side sign-in sessions: random secrets hashed at rest, client binding, idle and absolute expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casevault.identity.models import Staff, StaffSession, StaffStatus

__all__ = [
    "ClientBinding",
    "Rejected",
    "Resolved",
    "SessionTimeouts",
    "active_sessions",
    "create_session",
    "csrf_token_for",
    "resolve_session",
    "revoke_all_sessions_of",
    "revoke_session",
    "rotate_session",
    "secret_hash",
]


@dataclass(frozen=True)
class ClientBinding:
    """What a session is bound to: the client's network prefix and its user-agent string."""

    ip_prefix: str | None
    user_agent: str

    @property
    def user_agent_hash(self) -> bytes:
        return hashlib.sha256(self.user_agent.encode("utf-8", "replace")).digest()

    @property
    def user_agent_label(self) -> str:
        """A short, non-identifying label for the session list (the product token only)."""
        return self.user_agent.split(" ", 1)[0][:64]


@dataclass(frozen=True)
class SessionTimeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Resolved:
    row: StaffSession
    staff: Staff


@dataclass(frozen=True)
class Rejected:
    """Why a presented cookie was refused (for the audit log), and the session row when one matched."""

    reason: str
    row: StaffSession | None = None


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(b"casevault/session/v1/" + secret.encode("ascii", "replace")).digest()


def csrf_token_for(secret: str) -> str:
    """The CSRF token of a session, derived from its secret so nothing more is stored; rotates with it."""
    mac = hmac.new(secret.encode("ascii", "replace"), b"casevault/csrf/v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def create_session(
    session: Session, staff: Staff, *, binding: ClientBinding, now: datetime, timeouts: SessionTimeouts
) -> tuple[StaffSession, str]:
    """A new password-only session (MFA still to come); returns the row and the cookie secret."""
    secret = _new_secret()
    row = StaffSession(
        staff_id=staff.id,
        secret_hash=secret_hash(secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
        ip_prefix=binding.ip_prefix,
        user_agent_hash=binding.user_agent_hash,
        user_agent_label=binding.user_agent_label,
    )
    session.add(row)
    session.flush()
    return row, secret


def rotate_session(row: StaffSession) -> str:
    """Give the session a new secret (privilege changed); the old cookie stops working at once."""
    secret = _new_secret()
    row.secret_hash = secret_hash(secret)
    return secret


def resolve_session(
    session: Session, secret: str, *, binding: ClientBinding, now: datetime, timeouts: SessionTimeouts
) -> Resolved | Rejected:
    """Find the live session behind a cookie; expired or re-bound sessions are revoked on the spot."""
    if not secret or len(secret) > 128:
        return Rejected("malformed cookie")
    found = session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.secret_hash == secret_hash(secret))
    ).one_or_none()
    if found is None:
        return Rejected("unknown or rotated session")
    row, staff = found
    if row.revoked_at is not None:
        return Rejected("revoked session", row)
    reason: str | None = None
    if staff.status != StaffStatus.ACTIVE:
        reason = "staff suspended"
    elif now >= row.expires_at:
        reason = "absolute timeout"
    elif now - row.last_seen_at >= timeouts.idle:
        reason = "idle timeout"
    elif row.ip_prefix != binding.ip_prefix or not hmac.compare_digest(row.user_agent_hash, binding.user_agent_hash):
        # A cookie presented from another network or browser is treated as stolen: it dies here.
        reason = "client changed"
    if reason is not None:
        revoke_session(row, now=now, reason=reason)
        return Rejected(reason, row)
    row.last_seen_at = now
    return Resolved(row, staff)


def revoke_session(row: StaffSession, *, now: datetime, reason: str) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = reason[:32]


def revoke_all_sessions_of(
    session: Session, staff_id: uuid.UUID, *, now: datetime, reason: str, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of a staff member (optionally keeping one); returns how many died."""
    statement = (
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:32])
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        statement = statement.where(StaffSession.id != keep)
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def active_sessions(
    session: Session, staff_id: uuid.UUID, *, now: datetime, timeouts: SessionTimeouts
) -> list[StaffSession]:
    """Sessions not revoked and not yet expired, newest first."""
    rows = session.scalars(
        select(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None), StaffSession.expires_at > now)
        .order_by(StaffSession.created_at.desc())
    ).all()
    return [row for row in rows if now - row.last_seen_at < timeouts.idle]
