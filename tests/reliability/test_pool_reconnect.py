"""A pooled PostgreSQL connection the server has closed is replaced at checkout, not handed to a request.

The pool checks each connection as it is checked out (casevault.db.session, ADR 0459): a request after a server
restart or a terminated backend gets a fresh connection instead of failing.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from casevault.db import Database

pytestmark = pytest.mark.postgres


def _terminate_backends(url: str) -> int:
    # With a timeout, pg_terminate_backend returns once the backend has exited (no race with the next checkout).
    name = url.rsplit("/", 1)[1]
    admin = url.replace("postgresql+psycopg://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


def test_a_connection_the_server_terminated_is_replaced_at_checkout(pg_database: str) -> None:
    database = Database(pg_database)
    try:
        with database.unit_of_work() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert database.engine.pool.checkedin() == 1
        assert _terminate_backends(pg_database) == 1
        with database.unit_of_work() as session:
            second = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        database.dispose()
