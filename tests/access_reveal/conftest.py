"""Fixtures for the reveal, grant and break-glass tests (every test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from reveal_world import World, build_world

from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database


@pytest.fixture
def world(client: TestClient, db: Database, key_provider: LocalKeyFile) -> World:
    return build_world(client, db, Keyring(key_provider))
