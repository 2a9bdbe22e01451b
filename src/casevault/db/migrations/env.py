"""Alembic environment: the metadata of every model, online migrations only."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import casevault.models  # noqa: F401  (registers every table on Base.metadata)
from casevault.cases.search import include_in_schema_check
from casevault.db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            # Full-text objects are dialect-specific DDL the models cannot describe.
            include_name=include_in_schema_check,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=include_in_schema_check,
        )
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()


run_migrations()
