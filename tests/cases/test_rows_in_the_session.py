"""Rows the access functions read are the session's own objects: never a second copy, changes kept and written once."""

from __future__ import annotations

from case_world import World

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission
from casevault.access.roles import Role
from casevault.audit.events import AuditAction
from casevault.cases import services
from casevault.cases.access import case_for, customer_for_update
from casevault.cases.models import Case, CaseStatus, Priority

CASE_CREATE = Permission.CASE_CREATE


def test_a_case_read_again_is_the_same_object_with_its_unflushed_change(world: World) -> None:
    customer = world.new_customer("Ola Nordmann", "ola@example.no")
    number = world.new_case(customer, "The router is down")
    operator = Actor.system("test")
    with world.db.unit_of_work() as session:
        case = case_for(session, operator, number, record_read=False)
        with session.no_autoflush:
            case.priority = Priority.URGENT
            again = case_for(session, operator, number, record_read=False)
        assert again is case
        assert again.priority == Priority.URGENT
        session.commit()  # expires every attribute; the next read fills them from its row
        third = case_for(session, operator, number, record_read=False)
        assert third is case
        assert not session.dirty
        assert third.__dict__["priority"] == Priority.URGENT  # loaded by the read itself, not by a later refresh
        services.change_status(session, third, CaseStatus.OPEN, actor=operator)
    with world.db.sessions() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        assert (stored.priority, stored.status) == (Priority.URGENT, CaseStatus.OPEN)


def test_a_customer_found_for_a_write_is_the_session_object(world: World) -> None:
    reference = world.new_customer("Kari Nordmann", "kari@example.no")
    world.new_case(reference, "Billing question")
    alice = Actor(staff_id=world.staff_ids["alice"], username="alice", role=Role.AGENT, method=AuthMethod.TOKEN)
    with world.db.unit_of_work() as session:
        first = customer_for_update(session, alice, reference, action=AuditAction.CASE_CREATED, permission=CASE_CREATE)
        second = customer_for_update(session, alice, reference, action=AuditAction.CASE_CREATED, permission=CASE_CREATE)
        assert first is second
        assert first.reference == reference
        assert not session.dirty
        assert not session.new
