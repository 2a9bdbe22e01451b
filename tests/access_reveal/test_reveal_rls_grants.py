"""Row-level security (migration 0007_grants): live grants and break-glass open exactly their case to the app role.

PostgreSQL only (SQLite has no row-level security): this module pins `database_url` to PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from reveal_world import REASON, World
from sqlalchemy import text, update

from casevault.access.models import BreakGlassSession
from casevault.access.rls import APP_ROLE
from casevault.db import Database
from casevault.db.base import utcnow

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database: str) -> str:
    return pg_database


def _visible(db: Database, staff_id: uuid.UUID, table: str = "cases", column: str = "number") -> set[str]:
    with db.engine.connect() as connection:
        connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        connection.execute(text("SELECT set_config('casevault.staff_id', :id, true)"), {"id": str(staff_id)})
        rows = connection.execute(text(f"SELECT {column} FROM {table}")).scalars()  # noqa: S608 (fixed names)
        return {str(row) for row in rows}


def test_a_live_grant_opens_its_case_and_customer_and_nothing_more(world: World, db: Database) -> None:
    carol = world.staff_ids["carol"]
    billing, network = world.cases["billing"], world.cases["network"]
    assert _visible(db, carol) == {network}
    customers_before = _visible(db, carol, "customers", "reference")

    requested = world.person("carol").post("/access/grants", json={"case": billing, "reason": REASON})
    grant_id = requested.json()["id"]
    assert _visible(db, carol) == {network}  # pending opens nothing
    assert world.person("sam").post(f"/access/grants/{grant_id}/approve").status_code == 200
    assert _visible(db, carol) == {billing, network}
    assert len(_visible(db, carol, "customers", "reference")) == len(customers_before) + 1

    assert world.person("carol").post(f"/access/grants/{grant_id}/revoke").status_code == 200
    assert _visible(db, carol) == {network}


def test_break_glass_opens_case_content_to_a_security_officer_until_it_expires(world: World, db: Database) -> None:
    sofia = world.staff_ids["sofia"]
    billing = world.cases["billing"]
    assert _visible(db, sofia) == set()
    started = world.person("sofia").post("/access/break-glass", json={"case": billing, "reason": REASON})
    assert started.status_code == 201, started.text
    assert _visible(db, sofia) == {billing}
    assert len(_visible(db, sofia, "redaction_vaults", "id")) >= 1
    with db.unit_of_work() as session:
        session.execute(update(BreakGlassSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _visible(db, sofia) == set()
