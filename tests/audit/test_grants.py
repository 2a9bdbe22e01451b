"""On PostgreSQL the application role may only read and append audit rows; the migration sets this up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select

from casevault.access.actor import Actor
from casevault.audit import AuditAction, AuditEvent, record
from casevault.db import Database


def _as_app_role(url: str) -> Database:
    db = Database(url)

    @event.listens_for(db.engine, "connect")
    def set_role(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET ROLE casevault_app")
        dbapi_connection.commit()

    return db


def test_app_role_is_nologin(pg_database: str) -> None:
    dsn = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'casevault_app'").fetchone()
    assert row == (False, False)


def test_app_role_appends_and_reads_but_cannot_change_audit_rows(
    pg_database: str, seed_chain: Callable[..., Any]
) -> None:
    db = _as_app_role(pg_database)
    try:
        with db.unit_of_work() as session:
            assert session.execute(select(func.current_user())).scalar_one() == "casevault_app"
            record(session, actor=Actor.system(), action=AuditAction.CASE_VIEWED)
        seed_chain(db, 3)
        with db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 4

        dsn = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET ROLE casevault_app")
            # Everything the app needs elsewhere stays writable (the statement is checked even with no rows).
            conn.execute("UPDATE staff SET display_name = display_name WHERE false")
            for statement in (
                "UPDATE audit_events SET reason = 'covered up' WHERE seq = 2",
                "DELETE FROM audit_events WHERE seq = 2",
                "TRUNCATE audit_events CASCADE",
                "DELETE FROM audit_subjects",
                "UPDATE audit_checkpoints SET seq = 0",
                "DELETE FROM audit_checkpoints",
                "UPDATE alembic_version SET version_num = 'x'",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    conn.execute(statement)
            conn.execute("RESET ROLE")
            # Even the owner is stopped by the trigger (defence in depth).
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute("DELETE FROM audit_events WHERE seq = 2")
            assert conn.execute("SELECT count(*) FROM audit_events WHERE reason IS NULL").fetchone() == (4,)
    finally:
        db.dispose()
