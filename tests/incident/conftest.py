"""Fixtures: the seeded incident world on SQLite and PostgreSQL, the audit checkpoint key, and a tamperer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from incident_world import Tamper, World, build_world, tamper_with
from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session, SessionTransaction

from casevault.access.rls import SYSTEM_SETTING
from casevault.audit import Ed25519Signer
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database


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
