"""The security officer's incident API with the app connected as production does: the non-owner role under RLS.

Row-level security gives a security officer no customer or case rows (their scope holds no case), so the report
reaches reference, country, sector and case numbers, and the export the sealed contact channel, only through the
narrow SECURITY DEFINER functions of migration 0009; everyone else calling them gets an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from incident_world import World, build_world, officer_session, token_for

from app_role import app_role_database
from casevault.access.rls import APP_ROLE
from casevault.app import API_PREFIX, create_app
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database


@pytest.fixture
def owner(pg_database: str) -> Iterator[Database]:
    """The migrating (owning) role's connection, to seed the world and issue credentials."""
    database = Database(pg_database)
    yield database
    database.dispose()


@pytest.fixture
def seeded(owner: Database, keyring: Keyring) -> World:
    return build_world(owner, keyring)


@pytest.fixture
def app_db(pg_database: str) -> Iterator[Database]:
    database = app_role_database(pg_database)
    yield database
    database.dispose()


@pytest.fixture
def app_client(settings: Settings, app_db: Database, key_provider: LocalKeyFile) -> Iterator[TestClient]:
    app = create_app(settings, database=app_db, key_provider=key_provider)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.postgres
def test_officer_report_and_export_work_under_row_level_security(
    seeded: World, owner: Database, app_client: TestClient
) -> None:
    headers = token_for(owner, "sofia", ["incident:manage"])
    report = app_client.post(
        f"{API_PREFIX}/incidents/blast-radius", json={"actor": "mallory", "model": "screen"}, headers=headers
    )
    assert report.status_code == 200, report.text
    customers = report.json()["customers"]
    assert len(customers) == 6  # as tests/incident/test_http.py finds with the owning role
    assert {row["reference"] for row in customers} <= set(seeded.references.values())
    assert "(deleted)" not in report.text
    assert {row["country"] for row in customers} == {"US", "GB", "DE", "CA"}
    assert all(not number.startswith("(deleted") for row in customers for number in row["cases"])
    assert {row["key"] for row in report.json()["by_sector"]} >= {"it", "finance"}

    created = app_client.post(
        f"{API_PREFIX}/incidents", json={"actor": "mallory", "reason": "customer phishing reports"}, headers=headers
    )
    assert created.status_code == 201, created.text
    csrf = officer_session(owner, app_client, stepped_up=True)
    export = app_client.post(
        f"{API_PREFIX}/incidents/{created.json()['id']}/notifications", json={"format": "csv"}, headers=csrf
    )
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {row["contact_email"] for row in rows} >= {"ada.c1@example.com", "ben.c2@example.org"}


FUNCTIONS = (
    "incident_customer_facts",
    "incident_case_facts",
    "incident_customer_channels",
    "incident_billing_contacts",
)


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["bob", "nobody"])
def test_the_incident_read_functions_refuse_anyone_but_an_active_security_officer(
    seeded: World, pg_database: str, who: str
) -> None:
    staff_id = str(seeded.bob) if who == "bob" else ""
    dsn = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    customer = str(seeded.customers["c1"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET ROLE {APP_ROLE}")
        conn.execute("SELECT set_config('casevault.staff_id', %s, false)", (staff_id,))
        for function in FUNCTIONS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {function}(ARRAY[%s]::uuid[])", (customer,))  # noqa: S608
        # Setting the reader flag by hand opens nothing to the application role, and the tables stay closed.
        conn.execute("SELECT set_config('casevault.incident_reader', 'on', false)")
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM cases").fetchone() == (0,)


@pytest.mark.postgres
def test_the_incident_read_functions_answer_an_officer_with_only_the_ids_asked(seeded: World, pg_database: str) -> None:
    dsn = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET ROLE {APP_ROLE}")
        conn.execute("SELECT set_config('casevault.staff_id', %s, false)", (str(seeded.officer),))
        rows = conn.execute(
            "SELECT reference, country FROM incident_customer_facts(%s::uuid[])", ([str(seeded.customers["c1"])],)
        ).fetchall()
        assert rows == [(seeded.references["c1"], "US")]
        # Outside the function the officer still sees no customer.
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)
