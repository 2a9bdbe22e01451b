"""Audit test helpers: seeding a chain, and tampering with it the way an attacker with database access would."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
import pytest

from casevault.access.actor import Actor
from casevault.audit import AuditAction, Ed25519Signer, Exposure, Subject, record
from casevault.crypto import LocalKeyFile
from casevault.db import Database

AUDIT_TRIGGERS_SQLITE = [
    f"{table}_no_{verb}"
    for table in ("audit_events", "audit_subjects", "audit_checkpoints")
    for verb in ("update", "delete")
]


@pytest.fixture
def signer(key_provider: LocalKeyFile) -> Ed25519Signer:
    return Ed25519Signer.from_provider(key_provider)


def _seed(db: Database, count: int = 6, *, per_transaction: int = 3) -> list[uuid.UUID]:
    """`count` events, each exposing one customer (some two); returns the customer ids."""
    customers = [uuid.uuid4() for _ in range(count)]
    actor = Actor.system("seeder")
    done = 0
    while done < count:
        with db.unit_of_work() as session:
            for index in range(done, min(count, done + per_transaction)):
                subjects = [Subject(customers[index], uuid.uuid4(), Exposure.OPENED)]
                if index % 2:
                    subjects.append(Subject(customers[index - 1], None, Exposure.LISTED))
                record(
                    session,
                    actor=actor,
                    action=AuditAction.CASE_VIEWED,
                    target_type="case",
                    target_id=f"CV-2026-{index:06d}",
                    subjects=subjects,
                    fields=["description"],
                    detail={"index": index},
                )
        done = min(count, done + per_transaction)
    return customers


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def _attacker(db: Database) -> Iterator[Callable[..., Any]]:
    """A raw connection that bypasses the append-only triggers (superuser replica mode / dropped triggers)."""
    url = db.engine.url.render_as_string(hide_password=False)
    if db.dialect == "postgresql":
        with psycopg.connect(_pg_dsn(url), autocommit=True) as conn:
            # What an attacker holding the superuser does: ordinary triggers (and FK checks) stop firing.
            conn.execute("SET session_replication_role = replica")
            yield lambda sql, params=None: conn.execute(sql, params)
    else:
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            # A file-level attacker simply drops the triggers.
            for trigger in AUDIT_TRIGGERS_SQLITE:
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            yield lambda sql, params=None: conn.execute(sql.replace("%s", "?"), params or ())
        finally:
            conn.close()


SeedChain = Callable[..., list[uuid.UUID]]
Attacker = Callable[[Database], AbstractContextManager[Callable[..., Any]]]


@pytest.fixture
def seed_chain() -> SeedChain:
    """seed_chain(db, count=6, per_transaction=3): records events and returns the exposed customer ids."""
    return _seed


@pytest.fixture
def attacker() -> Attacker:
    """`with attacker(db) as sql: sql("UPDATE ...")` runs statements with the append-only triggers bypassed."""
    return _attacker
