"""Staff API tokens: random 256-bit secrets shown once, stored as SHA-256, scoped and expiring."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.db.base import utcnow
from casevault.identity.models import ApiToken, Staff, StaffStatus

__all__ = ["TOKEN_PREFIX", "authenticate_token", "issue_token", "revoke_token"]

TOKEN_PREFIX = "cvt_"
# last_used_at is refreshed at most this often: writing it on every request made each request update (and lock
# until commit) the token's row, serialising all concurrent requests of one token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_token(
    session: Session,
    staff: Staff,
    *,
    name: str,
    scopes: Iterable[str],
    ttl: timedelta,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `staff`; returns the row and the secret, which is never stored or shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = now or utcnow()
    row = ApiToken(
        staff_id=staff.id,
        name=name,
        prefix=secret[:12],
        token_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        created_at=created,
        expires_at=created + ttl,
    )
    session.add(row)
    return row, secret


def authenticate_token(session: Session, secret: str, *, now: datetime | None = None) -> Actor | None:
    """The actor behind a bearer token, or None if it is unknown, expired, revoked or its owner suspended."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    current = now or utcnow()
    found = session.execute(
        select(ApiToken, Staff).join(Staff, Staff.id == ApiToken.staff_id).where(ApiToken.token_hash == _digest(secret))
    ).one_or_none()
    if found is None:
        return None
    token, staff = found
    if token.revoked_at is not None or token.expires_at <= current or staff.status != StaffStatus.ACTIVE:
        return None
    if token.last_used_at is None or current - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = current
    return Actor(
        staff_id=staff.id,
        username=staff.username,
        role=staff.role,
        method=AuthMethod.TOKEN,
        session_ref=f"token:{token.id.hex[:16]}",
        scopes=frozenset(token.scopes),
    )


def revoke_token(session: Session, token_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Revoke a token at once; False if there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return False
    token.revoked_at = now or utcnow()
    return True
