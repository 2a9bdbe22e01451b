"""A Database whose connections act as the application role, as production connects: row-level security binds it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from casevault.access.rls import APP_ROLE
from casevault.db import Database


def app_role_database(url: str) -> Database:
    """A Database on `url` (the owner's) whose every new connection switches to the non-owner application role."""
    database = Database(url)

    @event.listens_for(database.engine, "connect")
    def _as_app_role(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")
        dbapi_connection.commit()

    return database
