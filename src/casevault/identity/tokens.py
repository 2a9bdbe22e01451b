"""Staff API tokens: random 256-bit secrets shown once, stored as SHA-256, scoped and expiring."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.rls import binding_columns, bound_by_statement
from casevault.access.roles import Role
from casevault.db.base import utcnow
from casevault.db.statements import FixedStatement
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


# Every API request runs these: fixed statements, not ORM queries (docs/adr/0456-...).
_TOKEN_COLUMNS = (
    ApiToken.id,
    ApiToken.scopes,
    ApiToken.expires_at,
    ApiToken.revoked_at,
    ApiToken.last_used_at,
    Staff.id,
    Staff.username,
    Staff.role,
    Staff.status,
)
_TOKEN_BY_HASH = FixedStatement(
    select(*_TOKEN_COLUMNS)
    .join(Staff, Staff.id == ApiToken.staff_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
# PostgreSQL: the same lookup also binds the token's owner for row-level security, one round trip for both
# (ADR 0459). The condition is authenticate_token's own, on the same values and clock, so a token it refuses binds
# nobody.
_TOKEN_BY_HASH_BINDING = FixedStatement(
    select(
        *_TOKEN_COLUMNS,
        *binding_columns(
            Staff.id,
            and_(
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > bindparam("now"),
                Staff.status == StaffStatus.ACTIVE,
            ),
        ),
    )
    .join(Staff, Staff.id == ApiToken.staff_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
# SKIP LOCKED: when two requests of one token both find last_used_at stale, the second neither waits for the
# first's row lock nor writes; the field is only ever a minute-resolution "still in use" mark.
_TOKEN_USED = FixedStatement(
    update(ApiToken)
    .where(
        ApiToken.id.in_(
            select(ApiToken.id)
            .where(
                ApiToken.id == bindparam("token_id"),
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= bindparam("stale_before")),
            )
            .with_for_update(skip_locked=True)
        )
    )
    .values(last_used_at=bindparam("now"))
)


def authenticate_token(session: Session, secret: str, *, now: datetime | None = None) -> Actor | None:
    """The actor behind a bearer token, or None if it is unknown, expired, revoked or its owner suspended."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    current = now or utcnow()
    binds = session.get_bind().dialect.name == "postgresql"
    lookup = _TOKEN_BY_HASH_BINDING if binds else _TOKEN_BY_HASH
    found = lookup.first(session, {"token_hash": _digest(secret), "now": current})
    if found is None:
        return None
    token_id, scopes, expires_at, revoked_at, last_used_at, staff_id, username, role, status = found[:9]
    if revoked_at is not None or expires_at <= current or status != StaffStatus.ACTIVE:
        return None
    if last_used_at is None or current - last_used_at >= LAST_USED_RESOLUTION:
        _TOKEN_USED.run(session, {"token_id": token_id, "stale_before": current - LAST_USED_RESOLUTION, "now": current})
    actor = Actor(
        staff_id=staff_id,
        username=username,
        role=Role(role),
        method=AuthMethod.TOKEN,
        session_ref=f"token:{token_id.hex[:16]}",
        scopes=frozenset(scopes),
    )
    if binds:
        bound_by_statement(session, actor)
    return actor


def revoke_token(session: Session, token_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Revoke a token at once; False if there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return False
    token.revoked_at = now or utcnow()
    return True
