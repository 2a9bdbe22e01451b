"""Fixtures: the seeded incident world on SQLite and PostgreSQL, the audit checkpoint key, and a tamperer."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from incident_world import World, build_world
from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session, SessionTransaction

from casevault.access.rls import SYSTEM_SETTING
from casevault.audit import Ed25519Signer
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database

Tamper = Callable[[str, int], None]


@pytest.fixture
def world(db: Database, keyring: Keyring) -> World:
    world = build_world(db, keyring)
    _act_as_operator(db)
    return world


def _act_as_operator(db: Database) -> None:
    """These tests call the incident services as the CLI does, as the operator at the shell: mark every
    transaction as `casevault incident …` marks its own (the incident read path refuses anyone else)."""

    if db.dialect != "postgresql":
        return

    @event.listens_for(db.sessions, "after_begin")
    def _bind(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
        connection.execute(text(f"SELECT set_config('{SYSTEM_SETTING}', 'on', true)"))


@pytest.fixture
def lite_db(sqlite_database: str) -> Iterator[Database]:
    """SQLite only, for checks that do not depend on the database (input validation, rendering)."""
    database = Database(sqlite_database)
    yield database
    database.dispose()


@pytest.fixture
def lite_world(lite_db: Database, keyring: Keyring) -> World:
    return build_world(lite_db, keyring)


@pytest.fixture
def audit_keys(key_provider: LocalKeyFile) -> list[Ed25519PublicKey]:
    return [Ed25519Signer.from_provider(key_provider).public_key]


@pytest.fixture
def tamper(db: Database) -> Tamper:
    return tamper_with(db)


def tamper_with(db: Database) -> Tamper:
    """Run one SQL statement (one %s parameter) as an attacker with database access would, past the triggers."""
    url = db.engine.url.render_as_string(hide_password=False)

    def run(sql: str, seq: int) -> None:
        if db.dialect == "postgresql":
            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET session_replication_role = replica")
                conn.execute(sql, (seq,))  # type: ignore[arg-type]
        else:
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                for table in ("audit_events", "audit_subjects"):
                    conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.execute(sql.replace("%s", "?"), (seq,))
            finally:
                conn.close()

    return run
