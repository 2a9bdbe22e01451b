"""Read budgets over HTTP: within budget, soft limit (step-up), hard limit (containment), lists, settings."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from budget_world import BudgetWorld
from sqlalchemy import func, select

from casevault.access.budgets import read_usage
from casevault.audit.models import AuditEvent
from casevault.detection.models import Alert, AlertKind, Severity
from casevault.identity.models import ApiToken, Staff, StaffSession, StaffStatus


def _actions(world: BudgetWorld, action: str) -> list[AuditEvent]:
    with world.db.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _alerts(world: BudgetWorld) -> list[tuple[AlertKind, Severity]]:
    with world.db.sessions() as session:
        rows = session.scalars(select(Alert).where(Alert.subject_staff_id == world.agent_id).order_by(Alert.raised_at))
        return [(alert.kind, alert.severity) for alert in rows]


def _assert_contained(world: BudgetWorld) -> None:
    with world.db.sessions() as session:
        staff = session.get_one(Staff, world.agent_id)
        assert staff.status == StaffStatus.SUSPENDED
        live_sessions = session.scalar(
            select(func.count()).where(StaffSession.staff_id == world.agent_id, StaffSession.revoked_at.is_(None))
        )
        assert live_sessions == 0
        live_tokens = session.scalar(
            select(func.count()).where(ApiToken.staff_id == world.agent_id, ApiToken.revoked_at.is_(None))
        )
        assert live_tokens == 0
        alerts = session.scalars(select(Alert).where(Alert.subject_staff_id == world.agent_id)).all()
    assert [(alert.kind, alert.severity) for alert in alerts] == [(AlertKind.READ_BUDGET_EXCEEDED, Severity.HIGH)]
    exceeded = _actions(world, "budget.exceeded")
    assert len(exceeded) == 1
    assert exceeded[0].actor_id == world.agent_id
    assert exceeded[0].outcome == "denied"
    assert exceeded[0].detail["budget"] == "read"
    assert exceeded[0].detail["over"] == ["opened_hour"]
    assert exceeded[0].detail["opened_hour"] == 6
    # Counts and ids only: no customer reference, name or email reaches the event or the alert.
    text = json.dumps(exceeded[0].detail) + json.dumps(alerts[0].detail)
    assert "example.org" not in text
    assert "CUST-" not in text


@pytest.mark.postgres
def test_reads_within_budget_are_served_and_rereads_are_free(world: BudgetWorld) -> None:
    client = world.client_factory()
    for number in world.cases[:3]:
        assert client.get(f"/api/v1/cases/{number}", headers=world.bearer()).status_code == 200
    # Opening the same customers again, through the case, the customer or the case list, costs nothing more.
    for number in world.cases[:3]:
        assert client.get(f"/api/v1/cases/{number}", headers=world.bearer()).status_code == 200
    assert client.get(f"/api/v1/customers/{world.customers[0]}", headers=world.bearer()).status_code == 200
    assert client.get("/api/v1/cases", headers=world.bearer()).status_code == 200
    assert _actions(world, "budget.exceeded") == []
    assert [e for e in _actions(world, "step_up.required") if e.reason == "read budget soft limit"] == []
    with world.db.sessions() as session:
        usage = read_usage(session, world.agent_id)
    # Three customers opened; all eight listed (the list returned every case).
    assert (usage.opened_hour, usage.opened_day, usage.listed_hour, usage.listed_day) == (3, 3, 8, 8)


@pytest.mark.postgres
def test_over_the_soft_limit_a_new_customer_needs_a_fresh_step_up(world: BudgetWorld) -> None:
    client, csrf = world.sign_in()
    for number in world.cases[:3]:
        assert client.get(f"/api/v1/cases/{number}").status_code == 200
    # The fourth customer crosses the soft limit; the sign-in's second factor is ten minutes old.
    refused = client.get(f"/api/v1/cases/{world.cases[3]}")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "step_up_required"
    assert refused.json()["error"]["step_up"] is True
    assert client.get(f"/api/v1/cases/{world.cases[4]}").status_code == 401
    # Customers already read stay readable, and the account is not contained.
    assert client.get(f"/api/v1/cases/{world.cases[0]}").status_code == 200
    assert [e.reason for e in _actions(world, "step_up.required")] == ["read budget soft limit"] * 2
    # A thief without the second factor stops here, so the security team hears of it: one alert an hour.
    assert _alerts(world) == [(AlertKind.READ_BUDGET_EXCEEDED, Severity.MEDIUM)]

    world.clock.advance(timedelta(minutes=10))
    stepped = client.post("/api/v1/auth/step-up", json={"code": world.totp()}, headers={"x-csrf-token": csrf})
    assert stepped.status_code == 200, stepped.text
    assert client.get(f"/api/v1/cases/{world.cases[3]}").status_code == 200
    assert client.get(f"/api/v1/cases/{world.cases[4]}").status_code == 200
    assert _actions(world, "budget.exceeded") == []
    with world.db.sessions() as session:
        assert session.get_one(Staff, world.agent_id).status == StaffStatus.ACTIVE


@pytest.mark.postgres
def test_refusing_step_up_again_and_again_contains_the_account(world: BudgetWorld) -> None:
    # A person asked for a step-up gives one; a thief holding only the cookie keeps asking for new customers.
    client, _csrf = world.sign_in()
    for number in world.cases[:3]:
        assert client.get(f"/api/v1/cases/{number}").status_code == 200
    for number in world.cases[3:7]:
        assert client.get(f"/api/v1/cases/{number}").status_code == 401
    stopped = client.get(f"/api/v1/cases/{world.cases[7]}")
    assert stopped.status_code == 429
    assert stopped.json()["error"]["code"] == "read_budget_exceeded"
    assert client.get(f"/api/v1/cases/{world.cases[0]}").status_code == 401
    with world.db.sessions() as session:
        assert session.get_one(Staff, world.agent_id).status == StaffStatus.SUSPENDED
    [exceeded] = _actions(world, "budget.exceeded")
    assert exceeded.detail["over"] == ["opened_hour", "soft_refusals"]
    assert exceeded.detail["opened_hour"] == 4  # three read, the fourth asked for: nothing past the soft limit
    assert _alerts(world) == [
        (AlertKind.READ_BUDGET_EXCEEDED, Severity.MEDIUM),
        (AlertKind.READ_BUDGET_EXCEEDED, Severity.HIGH),
    ]
    assert {event.target_id for event in _actions(world, "case.viewed")} == set(world.cases[:3])


@pytest.mark.postgres
def test_over_the_hard_limit_the_session_is_contained(world: BudgetWorld) -> None:
    client, csrf = world.sign_in()
    world.clock.advance(timedelta(minutes=10))
    assert client.post("/api/v1/auth/step-up", json={"code": world.totp()}, headers={"x-csrf-token": csrf}).is_success
    for number in world.cases[:5]:
        assert client.get(f"/api/v1/cases/{number}").status_code == 200
    stopped = client.get(f"/api/v1/cases/{world.cases[5]}")
    assert stopped.status_code == 429
    assert stopped.json()["error"]["code"] == "read_budget_exceeded"
    # The sixth case was not shown: no case.viewed for it.
    viewed = {event.target_id for event in _actions(world, "case.viewed")}
    assert world.cases[5] not in viewed
    assert set(world.cases[:5]) <= viewed
    # The stolen cookie is dead, and so is every other way in.
    after = client.get(f"/api/v1/cases/{world.cases[0]}")
    assert after.status_code == 401
    assert world.client_factory().get("/api/v1/cases", headers=world.bearer()).status_code == 401
    _assert_contained(world)


@pytest.mark.postgres
def test_tokens_cannot_step_up_so_the_soft_limit_refuses_them(world: BudgetWorld) -> None:
    client = world.client_factory()
    for number in world.cases[:3]:
        assert client.get(f"/api/v1/cases/{number}", headers=world.bearer()).status_code == 200
    assert client.get(f"/api/v1/cases/{world.cases[3]}", headers=world.bearer()).status_code == 403
    assert _alerts(world) == [(AlertKind.READ_BUDGET_EXCEEDED, Severity.MEDIUM)]


@pytest.mark.postgres
@pytest.mark.parametrize("opened_soft_hour", [5])
@pytest.mark.parametrize("crossing", ["case", "customer"])
def test_over_the_hard_limit_a_token_is_contained(world: BudgetWorld, crossing: str) -> None:
    # Soft = hard: the read that crosses contains the account at once (a token cannot step up anyway).
    client = world.client_factory()
    for number in world.cases[:5]:
        assert client.get(f"/api/v1/cases/{number}", headers=world.bearer()).status_code == 200
    if crossing == "customer":
        response = client.get(f"/api/v1/customers/{world.customers[5]}", headers=world.bearer())
    else:
        response = client.get(f"/api/v1/cases/{world.cases[6]}", headers=world.bearer())
    assert response.status_code == 429
    assert client.get("/api/v1/cases", headers=world.bearer()).status_code == 401
    _assert_contained(world)
