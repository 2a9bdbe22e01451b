"""Agents take work themselves: POST /cases/{n}/take and /release (permission case:take, policy take.own-queue).

Checked on SQLite and PostgreSQL (row-level security on): the assignee changes, the change is audited as an
assignment, and everything outside "an unassigned case of my queue" / "my own case" is refused without a change.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from case_world import World

from casevault.access.decisions import Allowed, Denied
from casevault.access.permissions import Permission
from casevault.access.policy import CaseFacts, RequestFacts, StaffFacts, shared_engine
from casevault.access.roles import Role
from casevault.audit.events import AuditAction
from casevault.audit.models import AuditEvent


def _assignee(world: World, number: str) -> Any:
    response = world.as_("sam").get(f"/cases/{number}")
    assert response.status_code == 200, response.text
    return response.json()["assignee"]


def _assignments(world: World, number: str) -> list[tuple[str, str, str | None]]:
    with world.db.unit_of_work() as session:
        rows = (
            session.query(AuditEvent)
            .filter(AuditEvent.action == AuditAction.CASE_ASSIGNED, AuditEvent.target_id == number)
            .order_by(AuditEvent.seq)
            .all()
        )
        return [(row.actor_label, str(row.outcome), row.reason) for row in rows]


def test_an_agent_takes_an_unassigned_case_of_its_queue_and_hands_it_back(world: World) -> None:
    customer = world.new_customer("Jane Doe", "jane.doe@example.com")
    number = world.new_case(customer, "Invoice 42 was charged twice.", by="sam")
    assert _assignee(world, number) is None
    alice = world.as_("alice")

    taken = alice.post(f"/cases/{number}/take")
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == "alice"
    assert taken.json()["status"] == "open"  # a new case becomes open when someone takes it
    assert _assignee(world, number) == "alice"
    # Bob works the same queue, but the case is alice's now: he no longer sees it at all.
    assert world.as_("bob").post(f"/cases/{number}/take").status_code == 404
    assert alice.post(f"/cases/{number}/take").status_code == 409

    released = alice.post(f"/cases/{number}/release")
    assert released.status_code == 200, released.text
    assert released.json()["assignee"] is None
    assert _assignee(world, number) is None
    assert alice.post(f"/cases/{number}/release").status_code == 409
    events = _assignments(world, number)
    assert [e for e in events if e[1] == "allowed"] == [("alice", "allowed", None), ("alice", "allowed", None)]
    assert ("bob", "denied", "policy:no-permit") in events  # bob's attempt, refused by the read scope


def test_take_refuses_other_queues_colleagues_cases_and_the_wrong_roles(world: World) -> None:
    customer = world.new_customer("Max Payne", "max.payne@example.com")
    network = world.new_case(customer, "Router drops the line.", by="carol", queue="network")
    other = world.new_customer("Ann Lee", "ann.lee@example.com")
    bobs = world.new_case(other, "Refund for order 7.", by="sam", assignee="bob")

    assert world.as_("alice").post(f"/cases/{network}/take").status_code == 404
    assert world.as_("alice").post(f"/cases/{bobs}/release").status_code == 404
    # The supervisor reads bob's case, but takes only unassigned work: reassigning is /assign's job.
    assert world.as_("sam").post(f"/cases/{bobs}/take").status_code == 403
    assert world.as_("sam").post(f"/cases/{bobs}/release").status_code == 403
    assert world.as_("sec").post(f"/cases/{network}/take").status_code == 403
    assert world.as_("ada").post(f"/cases/{network}/take").status_code == 403
    assert _assignee(world, bobs) == "bob"
    refused = _assignments(world, bobs)
    assert [(who, outcome) for who, outcome, _ in refused[-2:]] == [("sam", "denied"), ("sam", "denied")]
    assert all(reason == "policy:no-permit" for _, _, reason in refused[-2:])


@pytest.mark.parametrize(
    "context",
    [RequestFacts(), RequestFacts(grant=True), RequestFacts(break_glass=True), RequestFacts(grant=True, step_up=True)],
)
def test_no_grant_or_break_glass_makes_another_queues_case_takeable(context: RequestFacts) -> None:
    billing, network = uuid.uuid4(), uuid.uuid4()
    agent = StaffFacts(staff_id=uuid.uuid4(), role=Role.AGENT, queues=frozenset({billing}))
    foreign = CaseFacts(case_id=uuid.uuid4(), queue_id=network, customer_id=uuid.uuid4())
    mine = CaseFacts(case_id=uuid.uuid4(), queue_id=billing, customer_id=uuid.uuid4())
    engine = shared_engine()
    assert engine.authorize(agent, Permission.CASE_TAKE, foreign, context) == Denied("policy:no-permit")
    assert engine.authorize(agent, Permission.CASE_TAKE, mine, context) == Allowed(via="take.own-queue")
    suspended = StaffFacts(staff_id=agent.staff_id, role=Role.AGENT, queues=agent.queues, suspended=True)
    assert engine.authorize(suspended, Permission.CASE_TAKE, mine, context) == Denied("forbid:guard.suspended")
