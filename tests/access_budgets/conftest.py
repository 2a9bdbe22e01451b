"""Fixtures for the read-budget tests: one queue, one agent (TOTP and a bearer token), customers with cases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from budget_world import CASES, PASSWORD, TINY, BudgetWorld
from fastapi.testclient import TestClient

from casevault.access.actor import Actor
from casevault.access.budgets import enable_read_budgets
from casevault.access.roles import Role
from casevault.app import create_app
from casevault.cases import services
from casevault.cases.models import QueueRole
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.identity import FixedClock, IdentityContext, Staff, issue_token, provision_credentials


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests here run on SQLite; those marked `postgres` run on PostgreSQL too (keeps the directory fast)."""
    here = Path(__file__).parent
    dropped: list[pytest.Item] = []
    kept: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        if on_postgres and item.path.is_relative_to(here) and item.get_closest_marker("postgres") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def opened_soft_hour() -> int:
    """Tests override this with `@pytest.mark.parametrize("opened_soft_hour", [...])`."""
    return TINY.opened_soft_hour


@pytest.fixture
def settings(tmp_path: Path, key_provider: LocalKeyFile, opened_soft_hour: int) -> Settings:
    return Settings(
        data_dir=tmp_path,
        key_file=tmp_path / "keys" / "master.key",
        cookie_secure=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        read_budgets={"agent": TINY.model_copy(update={"opened_soft_hour": opened_soft_hour})},
        reveal_budget_per_hour=2,
    )


@pytest.fixture
def clock() -> FixedClock:
    # Sign-ins happen "ten minutes ago" by the app's clock, so their second-factor check is stale by the wall
    # clock the budgets use; advancing the clock by ten minutes makes a step-up fresh again.
    return FixedClock(datetime.now(UTC) - timedelta(minutes=10))


@pytest.fixture
def world(settings: Settings, db: Database, key_provider: LocalKeyFile, clock: FixedClock) -> BudgetWorld:
    app = create_app(settings, database=db, key_provider=key_provider)
    app.state.runtime = dataclasses.replace(app.state.runtime, clock=clock)
    # Idempotent; create_app is expected to do the same (the lead wires it there).
    enable_read_budgets(db, settings)
    keyring = Keyring(key_provider)
    ctx = IdentityContext(settings=settings, keyring=keyring, clock=clock)
    setup = Actor.system("test-setup")
    numbers: list[str] = []
    references: list[str] = []
    with db.unit_of_work() as session:
        agent = Staff(username="agnes", display_name="Agnes", role=Role.AGENT)
        session.add(agent)
        session.flush()
        provisioned = provision_credentials(session, agent, password=PASSWORD, actor=setup, ctx=ctx)
        _, token = issue_token(session, agent, name="test", scopes=["*"], ttl=timedelta(hours=1))
        queue = services.create_queue(session, name="billing", actor=setup)
        session.flush()
        services.add_queue_member(session, queue, agent, role=QueueRole.MEMBER, actor=setup)
        for index in range(CASES):
            customer = services.create_customer(
                session,
                keyring=keyring,
                name=f"Customer Number{index}",
                email=f"customer{index}@example.org",
                country="GB",
                actor=setup,
            )
            case = services.create_case(
                session,
                keyring=keyring,
                customer=customer,
                queue=queue,
                subject=f"Invoice {index}",
                description="Please check my invoice.",
                assignee=agent,
                actor=setup,
            )
            numbers.append(case.number)
            references.append(customer.reference)
        agent_id = agent.id
    assert provisioned.totp_secret is not None

    def make_client() -> TestClient:
        return TestClient(app, client=("203.0.113.9", 50000), raise_server_exceptions=False)

    return BudgetWorld(
        client_factory=make_client,
        db=db,
        keyring=keyring,
        agent_id=agent_id,
        totp_secret=provisioned.totp_secret,
        token=token,
        cases=numbers,
        customers=references,
        clock=clock,
    )
