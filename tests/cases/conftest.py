"""Fixtures for the case tests."""

from __future__ import annotations

import pytest
from case_world import World, build_world
from fastapi.testclient import TestClient

from casevault.crypto import LocalKeyFile
from casevault.db import Database


@pytest.fixture
def world(client: TestClient, db: Database, key_provider: LocalKeyFile) -> World:
    return build_world(client, db, key_provider)
