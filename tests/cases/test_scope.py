"""Who may read which case: assignee, queue triage, queue supervisor; everything else looks missing."""

from __future__ import annotations

import random

from case_world import World
from sqlalchemy import select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import AuditEvent, AuditSubject
from casevault.cases import access, services
from casevault.cases.models import Case, Queue, QueueRole
from casevault.identity import Staff


def _events(world: World, username: str, action: str) -> list[AuditEvent]:
    with world.db.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor_label == username, AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
        )


def test_assigned_case_is_invisible_to_other_agents_and_the_denial_is_audited(world: World) -> None:
    customer = world.new_customer("Amal Haddad", "amal@example.ae", country="AE")
    assigned = world.new_case(customer, "VPN drops every hour", assignee="alice")
    # Filed by an admin: bob may not file for a customer whose only case he cannot read (test_file_case_scope.py).
    unassigned = world.new_case(customer, "Printer offline", by="ada")

    assert world.as_("alice").get(f"/cases/{assigned}").status_code == 200
    denied = world.as_("bob").get(f"/cases/{assigned}")
    missing = world.as_("bob").get("/cases/CV-2099-999999")
    # Forbidden and missing are indistinguishable from outside.
    assert denied.status_code == missing.status_code == 404
    assert denied.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert denied.json()["error"]["message"] == missing.json()["error"]["message"]

    events = _events(world, "bob", "case.viewed")
    assert [(e.target_id, e.outcome, e.reason) for e in events] == [
        (assigned, "denied", "policy:no-permit"),
        ("CV-2099-999999", "denied", "no such case"),
    ]
    # Writes are scoped the same way.
    assert world.as_("bob").post(f"/cases/{assigned}/notes", json={"body": "hi"}).status_code == 404
    assert world.as_("bob").post(f"/cases/{assigned}/status", json={"status": "pending"}).status_code == 404

    # Unassigned case in my queue: readable by every member (triage); not by another queue's agent.
    assert world.as_("bob").get(f"/cases/{unassigned}").status_code == 200
    assert world.as_("alice").get(f"/cases/{unassigned}").status_code == 200
    assert world.as_("carol").get(f"/cases/{unassigned}").status_code == 404
    assert world.as_("carol").get(f"/cases/{assigned}").status_code == 404
    assert _events(world, "carol", "case.viewed")[0].reason == "policy:no-permit"

    # The supervisor of the queue reads both; security officers and admins read no case content (officers hold
    # case:read for break-glass, so theirs is the not-found of an empty scope; admins lack the permission).
    assert world.as_("sam").get(f"/cases/{assigned}").status_code == 200
    assert world.as_("sec").get(f"/cases/{assigned}").status_code == 404
    assert world.as_("ada").get(f"/cases/{assigned}").status_code == 403

    # Lists apply the same rule.
    listed = {item["number"] for item in world.as_("bob").get("/cases").json()["items"]}
    assert listed == {unassigned}
    assert {item["number"] for item in world.as_("alice").get("/cases").json()["items"]} == {assigned, unassigned}
    assert world.as_("carol").get("/cases").json() == {"items": [], "total": 0, "limit": 25, "offset": 0}
    assert {item["number"] for item in world.as_("sam").get("/cases").json()["items"]} == {assigned, unassigned}

    # `visible_cases` (SQL, for lists) and `can_read_case` (Python, for one case) never disagree.
    rng = random.Random(20261122)
    operator = Actor.system("test")
    with world.db.unit_of_work() as session:
        queues = {q.name: q for q in session.scalars(select(Queue))}
        staff = {s.username: s for s in session.scalars(select(Staff))}
        # sam supervises billing and is also a plain member of network, to cover both membership roles.
        services.add_queue_member(session, queues["network"], staff["sam"], role=QueueRole.MEMBER, actor=operator)
        customer = services.create_customer(
            session, keyring=world.keyring, name="Rita Rossi", email="rita@example.it", country="IT", actor=operator
        )
        members = {"billing": ["alice", "bob", "sam", None], "network": ["carol", "sam", None]}
        for index in range(24):
            queue_name = rng.choice(sorted(members))
            assignee = rng.choice(members[queue_name])
            services.create_case(
                session,
                keyring=world.keyring,
                customer=customer,
                queue=queues[queue_name],
                subject=f"Case {index}",
                description="Nothing personal here",
                assignee=staff[assignee] if assignee else None,
                actor=operator,
            )
    with world.db.sessions() as session:
        cases = session.scalars(select(Case)).all()
        for username, member in staff.items():
            actor = Actor(staff_id=member.id, username=username, role=member.role, method=AuthMethod.TOKEN)
            listed = set(session.scalars(select(Case.id).where(access.visible_cases(actor))))
            allowed = {case.id for case in cases if access.can_read_case(session, actor, case)}
            assert listed == allowed, username
            if member.role in (Role.ADMIN, Role.SECURITY_OFFICER):
                assert listed == set()
        sam = Actor(staff_id=staff["sam"].id, username="sam", role=Role.SUPERVISOR, method=AuthMethod.TOKEN)
        network_cases = [c for c in cases if c.queue_id == queues["network"].id]
        # In network sam is only a member: someone else's assigned case there stays out of reach.
        assert any(c.assignee_id == staff["carol"].id for c in network_cases)
        assert not any(
            access.can_read_case(session, sam, c) for c in network_cases if c.assignee_id == staff["carol"].id
        )


def test_customer_data_is_reachable_only_through_a_readable_case_and_managed_by_few(world: World) -> None:
    email = "olu.ade@example.ng"
    customer = world.new_customer("Olu Ade", email, country="NG")
    world.new_case(customer, "Billing address change", assignee="alice")
    lonely = world.new_customer("Nobody Special", "nobody@example.ng", country="NG")

    assert world.as_("alice").get(f"/customers/{customer}").status_code == 200
    assert world.as_("bob").get(f"/customers/{customer}").status_code == 404
    assert world.as_("alice").get(f"/customers/{lonely}").status_code == 404
    assert world.as_("ada").get(f"/customers/{customer}").status_code == 403  # admins manage, not read

    found = world.as_("alice").get("/customers/lookup", params={"email": email.upper()})
    assert [item["reference"] for item in found.json()["items"]] == [customer]
    assert found.json()["items"][0]["email"] == "o***@e***.ng"
    assert world.as_("bob").get("/customers/lookup", params={"email": email}).json()["items"] == []
    assert world.as_("alice").get("/customers/lookup", params={"email": "nobody@example.ng"}).json()["items"] == []

    lookups = _events(world, "alice", "customer.looked_up")
    assert [event.detail["matches"] for event in lookups] == [[customer], []]
    with world.db.sessions() as session:
        subjects = session.scalars(select(AuditSubject).where(AuditSubject.event_seq == lookups[0].seq)).all()
        assert [(s.exposure, s.case_id) for s in subjects] == [("listed", None)]
    for event in lookups:
        assert email not in str(event.detail)

    # Agents manage neither customers nor queues; supervisors may create customers.
    body = {"name": "X Y", "email": "x@example.com", "country": "FR"}
    assert world.as_("alice").post("/customers", json=body).status_code == 403
    assert world.as_("alice").post("/queues", json={"name": "mine"}).status_code == 403
    assert world.as_("sam").post("/customers", json=body).status_code == 201
    # Filing a case needs membership of the target queue.
    customer = world.new_customer("Zoe Roe", "zoe@example.fr", country="FR")
    denied = world.as_("carol").post(
        "/cases", json={"customer": customer, "queue": "billing", "subject": "s", "description": "d"}
    )
    assert denied.status_code == 404
    assert _events(world, "carol", "case.created")[0].outcome == "denied"
    # Only supervisors hand a new case to someone else; anyone may take it themselves.
    handed = {"customer": customer, "queue": "billing", "subject": "s", "description": "d", "assignee": "alice"}
    assert world.as_("bob").post("/cases", json=handed).status_code == 422
    assert world.as_("sam").post("/cases", json=handed).json()["assignee"] == "alice"
