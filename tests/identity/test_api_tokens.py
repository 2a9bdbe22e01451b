"""API token authentication through the library API: who a token is, when it stops working, its last use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from casevault.access.actor import AuthMethod
from casevault.access.roles import Role
from casevault.db import Database
from casevault.identity import ApiToken, Staff, StaffStatus, authenticate_token, issue_token, revoke_token

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


def _token(db: Database, *, status: StaffStatus = StaffStatus.ACTIVE) -> tuple[str, str]:
    with db.unit_of_work() as session:
        staff = Staff(username="tok-agent", display_name="Token Agent", role=Role.AGENT, status=status)
        session.add(staff)
        session.flush()
        row, secret = issue_token(session, staff, name="ci", scopes=["case:read"], ttl=timedelta(hours=1), now=T0)
        session.flush()
        return str(row.id), secret


def _last_used(db: Database, token_id: str) -> datetime | None:
    with db.sessions() as session:
        return session.get_one(ApiToken, uuid.UUID(token_id)).last_used_at


def test_a_token_names_its_staff_scopes_and_method(db: Database) -> None:
    token_id, secret = _token(db)
    with db.unit_of_work() as session:
        actor = authenticate_token(session, secret, now=T0 + timedelta(seconds=1))
    assert actor is not None
    assert (actor.username, actor.role, actor.method) == ("tok-agent", Role.AGENT, AuthMethod.TOKEN)
    assert actor.scopes == frozenset({"case:read"})
    assert actor.session_ref == f"token:{token_id.replace('-', '')[:16]}"


def test_last_use_is_written_at_most_once_a_minute(db: Database) -> None:
    token_id, secret = _token(db)
    for seconds in (1, 30, 59):
        with db.unit_of_work() as session:
            assert authenticate_token(session, secret, now=T0 + timedelta(seconds=seconds)) is not None
    assert _last_used(db, token_id) == T0 + timedelta(seconds=1)
    with db.unit_of_work() as session:
        assert authenticate_token(session, secret, now=T0 + timedelta(seconds=61)) is not None
    assert _last_used(db, token_id) == T0 + timedelta(seconds=61)


def test_expired_revoked_unknown_and_suspended_tokens_are_refused(db: Database) -> None:
    token_id, secret = _token(db)
    with db.unit_of_work() as session:
        assert authenticate_token(session, secret, now=T0 + timedelta(hours=1)) is None  # expiry is exclusive
        assert authenticate_token(session, secret + "x", now=T0) is None
        assert authenticate_token(session, "not-a-token", now=T0) is None
    with db.unit_of_work() as session:
        # Revoked in the same unit of work, not yet flushed: the lookup must still see it.
        assert revoke_token(session, uuid.UUID(token_id), now=T0)
        assert authenticate_token(session, secret, now=T0 + timedelta(seconds=1)) is None
    _, other = _token_for_suspended(db)
    with db.unit_of_work() as session:
        assert authenticate_token(session, other, now=T0 + timedelta(seconds=1)) is None


def _token_for_suspended(db: Database) -> tuple[str, str]:
    with db.unit_of_work() as session:
        staff = Staff(username="tok-gone", display_name="Gone", role=Role.AGENT, status=StaffStatus.SUSPENDED)
        session.add(staff)
        session.flush()
        row, secret = issue_token(session, staff, name="ci", scopes=["case:read"], ttl=timedelta(hours=1), now=T0)
        session.flush()
        return str(row.id), secret
