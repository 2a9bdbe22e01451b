"""Fixtures for the access tests: one seeded PostgreSQL database per module (the tests only read, or roll back)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from access_world import World, admin, database_url, seed

from casevault.db import Database


@pytest.fixture(scope="module")
def pg_world(pg_template: str) -> Iterator[tuple[Database, World]]:
    """A migrated PostgreSQL database cloned from the session template, with the world seeded; dropped after."""
    name = f"cv_test_access_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    database = Database(database_url(name))
    try:
        yield database, seed(database)
    finally:
        database.dispose()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
