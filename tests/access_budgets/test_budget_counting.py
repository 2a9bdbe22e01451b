"""Counting: lists against the higher listed limit, in-flight reads, reveals, and limits from settings."""

from __future__ import annotations

import uuid

import pytest
from budget_world import TINY, BudgetWorld
from sqlalchemy import select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.budgets import (
    RevealBudgetExceeded,
    charge_reads,
    charge_reveal,
    enable_read_budgets,
    read_usage,
)
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Exposure
from casevault.audit.models import AuditEvent
from casevault.audit.trail import Subject, record
from casevault.config import ReadBudgetLimits, Settings
from casevault.detection.models import Alert, AlertKind, Severity
from casevault.errors import PermissionDenied
from casevault.identity.models import Staff, StaffStatus


def _agent(world: BudgetWorld) -> Actor:
    return Actor(staff_id=world.agent_id, username="agnes", role=Role.AGENT, method=AuthMethod.TOKEN)


@pytest.mark.postgres
@pytest.mark.parametrize("opened_soft_hour", [5])
def test_listing_counts_against_the_listed_limit(world: BudgetWorld, settings: Settings) -> None:
    # Listed limits are 50 in the shared settings; lowering them to 6 on the running app shows a harvest stopped.
    limits = TINY.model_copy(update={"opened_soft_hour": 5, "listed_soft_hour": 6, "listed_hard_hour": 6})
    enable_read_budgets(world.db, settings.model_copy(update={"read_budgets": {"agent": limits}}))
    client = world.client_factory()
    first_page = client.get("/api/v1/cases?limit=4", headers=world.bearer())
    assert first_page.status_code == 200
    assert len(first_page.json()["items"]) == 4
    # Four listed so far; a page of eight brings four new customers: 8 > 6, the harvest is contained.
    harvest = client.get("/api/v1/cases?limit=8", headers=world.bearer())
    assert harvest.status_code == 429
    assert harvest.json()["error"]["code"] == "read_budget_exceeded"
    assert client.get("/api/v1/cases?limit=1", headers=world.bearer()).status_code == 401
    with world.db.sessions() as session:
        assert session.get_one(Staff, world.agent_id).status == StaffStatus.SUSPENDED
        exceeded = session.scalars(select(AuditEvent).where(AuditEvent.action == "budget.exceeded")).one()
    assert exceeded.detail["over"] == ["listed_hour"]
    assert exceeded.detail["listed_hour"] == 8


@pytest.mark.postgres
def test_in_flight_reads_count_before_their_events_are_committed(world: BudgetWorld) -> None:
    actor = _agent(world)
    customers = [uuid.uuid4() for _ in range(3)]
    with world.db.unit_of_work() as session:
        for customer in customers:
            subject = Subject(customer, None, Exposure.OPENED)
            charge_reads(session, actor, [subject])
            record(session, actor=actor, action=AuditAction.CUSTOMER_VIEWED, subjects=[subject])
        # Nothing is committed yet, and counting did not chain the staged events (no audit lock taken).
        assert read_usage(session, world.agent_id).opened_hour == 3
        assert session.info.get("casevault.audit.pending")
        # The fourth crosses the soft limit of three; a token cannot step up.
        with pytest.raises(PermissionDenied):
            charge_reads(session, actor, [Subject(uuid.uuid4(), None, Exposure.OPENED)])
    with world.db.sessions() as session:
        # Committed: the same three, not counted twice.
        assert read_usage(session, world.agent_id).opened_hour == 3
        assert read_usage(session, world.agent_id, opened=customers[:1]).opened_hour == 3
        assert read_usage(session, world.agent_id, opened=[uuid.uuid4()]).opened_hour == 4


@pytest.mark.postgres
def test_reveals_are_budgeted_per_hour(world: BudgetWorld) -> None:
    actor = _agent(world)
    customer = uuid.uuid4()
    with world.db.unit_of_work() as session:
        assert charge_reveal(session, actor, customer_id=customer) == 1
        record(
            session, actor=actor, action=AuditAction.PII_REVEALED, subjects=[Subject(customer, None, Exposure.REVEALED)]
        )
    with world.db.unit_of_work() as session:
        assert charge_reveal(session, actor, customer_id=customer) == 2
        record(
            session, actor=actor, action=AuditAction.PII_REVEALED, subjects=[Subject(customer, None, Exposure.REVEALED)]
        )
    # The HTTP unit of work commits an audited refusal; here the block commits because the error is caught inside.
    with world.db.unit_of_work() as session, pytest.raises(RevealBudgetExceeded):
        charge_reveal(session, actor, customer_id=customer)
    with world.db.sessions() as session:
        exceeded = session.scalars(select(AuditEvent).where(AuditEvent.action == "budget.exceeded")).one()
        # A reveal refused is not containment: the account stays active.
        assert session.get_one(Staff, world.agent_id).status == StaffStatus.ACTIVE
        # The revealed customer counts as read.
        assert read_usage(session, world.agent_id).opened_hour == 1
    assert exceeded.detail == {"budget": "reveal", "limit": 2, "reveals_hour": 2}
    # Refused at the reveal limit is a reason to tell the security team (a thief with the factor stops here).
    with world.db.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.subject_staff_id == world.agent_id)).all()
    assert [(alert.kind, alert.severity) for alert in alerts] == [(AlertKind.READ_BUDGET_EXCEEDED, Severity.MEDIUM)]


def test_operators_and_the_platform_are_not_budgeted(world: BudgetWorld) -> None:
    with world.db.unit_of_work() as session:
        subjects = [Subject(uuid.uuid4(), None, Exposure.OPENED) for _ in range(20)]
        assert charge_reads(session, Actor.cli("root"), subjects) is None
        assert charge_reads(session, Actor.system(), subjects) is None


def test_limits_come_from_settings_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CASEVAULT_READ_BUDGETS", '{"agent": {"opened_soft_hour": 7, "opened_hard_hour": 9}, "supervisor": {}}'
    )
    monkeypatch.setenv("CASEVAULT_REVEAL_BUDGET_PER_HOUR", "5")
    settings = Settings()
    assert settings.read_budgets["agent"].opened_soft_hour == 7
    assert settings.read_budgets["agent"].opened_hard_hour == 9
    assert settings.read_budgets["supervisor"] == ReadBudgetLimits()
    assert settings.reveal_budget_per_hour == 5
    with pytest.raises(ValueError, match="opened_soft_hour must not exceed opened_hard_hour"):
        ReadBudgetLimits(opened_soft_hour=10, opened_hard_hour=9)


@pytest.mark.postgres
def test_search_and_email_lookup_are_charged_as_listed(world: BudgetWorld) -> None:
    client = world.client_factory()
    lookup = client.get("/api/v1/customers/lookup", params={"email": "customer0@example.org"}, headers=world.bearer())
    assert lookup.status_code == 200
    assert len(lookup.json()["items"]) == 1
    with world.db.sessions() as session:
        assert read_usage(session, world.agent_id).listed_hour == 1
        assert read_usage(session, world.agent_id).opened_hour == 0
    found = client.get("/api/v1/cases/search", params={"q": "invoice"}, headers=world.bearer())
    assert found.status_code == 200
    assert found.json()["total"] == 8
    with world.db.sessions() as session:
        assert read_usage(session, world.agent_id).listed_hour == 8
