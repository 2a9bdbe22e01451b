"""Filing and reading a case with the app connected as production does: the non-owner role under RLS.

The other case tests connect as the owning role, which row-level security does not bind. Here the world is
seeded as the owner, then alice files and reads a case through an app whose connections are the application
role, so every statement of the create and the read passes the policies of migration 0005.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_world import World, build_world
from fastapi.testclient import TestClient
from sqlalchemy import select

from app_role import app_role_database
from casevault.app import create_app
from casevault.audit.models import AuditEvent
from casevault.config import Settings
from casevault.crypto import LocalKeyFile
from casevault.db import Database

pytestmark = pytest.mark.postgres

EMAIL = "jane.doe@northwind.example"


@pytest.fixture
def owner_world(pg_database: str, settings: Settings, key_provider: LocalKeyFile) -> Iterator[World]:
    database = Database(pg_database)
    app = create_app(settings, database=database, key_provider=key_provider)
    with TestClient(app, raise_server_exceptions=False) as owner_client:
        yield build_world(owner_client, database, key_provider)
    database.dispose()


@pytest.fixture
def app_client(pg_database: str, settings: Settings, key_provider: LocalKeyFile) -> Iterator[TestClient]:
    database = app_role_database(pg_database)
    app = create_app(settings, database=database, key_provider=key_provider)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    database.dispose()


def test_an_agent_files_and_reads_a_case_with_pii_under_row_level_security(
    owner_world: World, app_client: TestClient
) -> None:
    customer = owner_world.new_customer("Jane Doe", EMAIL)
    owner_world.new_case(customer, "First contact", by="alice")  # under RLS the customer is reached through a case
    alice = {"Authorization": f"Bearer {owner_world.tokens['alice']}"}
    body = {"customer": customer, "queue": "billing", "subject": "Refund", "description": f"Please mail {EMAIL}"}

    created = app_client.post("/api/v1/cases", json=body, headers=alice)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    read = app_client.get(f"/api/v1/cases/{number}", headers=alice)
    assert read.status_code == 200, read.text
    assert read.json()["number"] == number
    assert EMAIL not in read.text  # the description comes back redacted
    carol = {"Authorization": f"Bearer {owner_world.tokens['carol']}"}
    assert app_client.get(f"/api/v1/cases/{number}", headers=carol).status_code == 404  # not her queue
    with owner_world.db.sessions() as session:
        viewed = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == number, AuditEvent.actor_label == "alice")
        ).all()
    assert "case.viewed" in viewed


def _as(world: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


def test_an_agent_files_the_first_case_of_a_new_customer_under_row_level_security(
    owner_world: World, app_client: TestClient
) -> None:
    customer = owner_world.new_customer("Nora New", "nora.new@example.org")
    body = {"customer": customer, "queue": "billing", "subject": "Hello", "description": "First contact"}
    created = app_client.post("/api/v1/cases", json=body, headers=_as(owner_world, "alice"))
    assert created.status_code == 201, created.text


def test_an_admin_manages_customers_and_files_a_case_under_row_level_security(
    owner_world: World, app_client: TestClient
) -> None:
    admin = _as(owner_world, "ada")
    made = app_client.post(
        "/api/v1/customers", json={"name": "Otto Admin", "email": "otto@example.org", "country": "DE"}, headers=admin
    )
    assert made.status_code == 201, made.text
    customer = made.json()["reference"]
    contact = {"kind": "billing", "name": "Pia Payable", "email": "pia@example.org"}
    assert app_client.post(f"/api/v1/customers/{customer}/contacts", json=contact, headers=admin).status_code == 201
    body = {"customer": customer, "queue": "billing", "subject": "Set-up", "description": f"Mail {EMAIL}"}
    created = app_client.post("/api/v1/cases", json=body, headers=admin)
    assert created.status_code == 201, created.text
