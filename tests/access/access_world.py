"""A small, fixed world of queues, staff, customers, cases and child rows for the access tests."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import psycopg

from casevault.access import Role
from casevault.cases.models import (
    Case,
    CaseStatus,
    Contact,
    ContactKind,
    Customer,
    Note,
    NoteVisibility,
    Queue,
    QueueMembership,
    QueueRole,
    RedactionVault,
)
from casevault.db import Database
from casevault.identity.models import Staff, StaffStatus

CIPHERTEXT = b"\x00" * 28  # stands in for sealed values; these tests never open them


@dataclass
class World:
    """Ids of everything seeded, by a short name."""

    queues: dict[str, uuid.UUID] = field(default_factory=dict)
    staff: dict[str, uuid.UUID] = field(default_factory=dict)
    cases: dict[str, uuid.UUID] = field(default_factory=dict)
    customers: dict[str, uuid.UUID] = field(default_factory=dict)
    case_customer: dict[str, str] = field(default_factory=dict)


# name -> (role, status, {queue: queue role})
STAFF = {
    "alice": (Role.AGENT, StaffStatus.ACTIVE, {"billing": QueueRole.MEMBER}),
    "bob": (Role.AGENT, StaffStatus.ACTIVE, {"tech": QueueRole.MEMBER}),
    "sue": (Role.SUPERVISOR, StaffStatus.ACTIVE, {"billing": QueueRole.SUPERVISOR}),
    # A security officer who (wrongly) sits in a queue and has a case assigned still sees no content.
    "olga": (Role.SECURITY_OFFICER, StaffStatus.ACTIVE, {"billing": QueueRole.MEMBER}),
    "sam": (Role.AGENT, StaffStatus.SUSPENDED, {"billing": QueueRole.MEMBER}),
    "adam": (Role.ADMIN, StaffStatus.ACTIVE, {}),
}

# case -> (queue, assignee or None, status)
CASES = {
    "alice-billing": ("billing", "alice", CaseStatus.OPEN),
    "alice-closed": ("billing", "alice", CaseStatus.CLOSED),
    "unassigned-billing": ("billing", None, CaseStatus.NEW),
    "bob-billing": ("billing", "bob", CaseStatus.OPEN),
    "unassigned-tech": ("tech", None, CaseStatus.NEW),
    "alice-tech": ("tech", "alice", CaseStatus.PENDING),
    "bob-tech": ("tech", "bob", CaseStatus.OPEN),
    "olga-billing": ("billing", "olga", CaseStatus.OPEN),
    "sam-billing": ("billing", "sam", CaseStatus.OPEN),
}

# What each person may read: the single source of truth both walls are tested against.
EXPECTED_CASES = {
    "alice": {"alice-billing", "alice-closed", "unassigned-billing", "alice-tech"},
    "bob": {"bob-billing", "unassigned-tech", "bob-tech"},
    "sue": {
        "alice-billing",
        "alice-closed",
        "unassigned-billing",
        "bob-billing",
        "olga-billing",
        "sam-billing",
    },
    "olga": set(),
    "sam": set(),
    "adam": set(),
}


def seed(database: Database) -> World:
    """Insert the world (as the owning role: row-level security does not apply to the seeding superuser)."""
    world = World()
    with database.unit_of_work() as session:
        for name in ("billing", "tech"):
            queue = Queue(name=name)
            session.add(queue)
            session.flush()
            world.queues[name] = queue.id
        for name, (role, status, memberships) in STAFF.items():
            person = Staff(username=name, display_name=name.title(), role=role, status=status)
            session.add(person)
            session.flush()
            world.staff[name] = person.id
            for queue_name, queue_role in memberships.items():
                session.add(QueueMembership(queue_id=world.queues[queue_name], staff_id=person.id, role=queue_role))
        for index, (case_name, (queue_name, assignee, status)) in enumerate(CASES.items()):
            customer = Customer(
                reference=f"CUST-{index:06d}",
                country="DE",
                name_sealed=CIPHERTEXT,
                email_sealed=CIPHERTEXT,
                email_index=bytes([index]) * 32,
            )
            session.add(customer)
            session.flush()
            world.customers[case_name] = customer.id
            world.case_customer[case_name] = case_name
            session.add(
                Contact(
                    customer_id=customer.id,
                    kind=ContactKind.BILLING,
                    name_sealed=CIPHERTEXT,
                    email_sealed=CIPHERTEXT,
                    email_index=bytes([index]) * 32,
                )
            )
            case = Case(
                number=f"CV-2026-{index:06d}",
                customer_id=customer.id,
                queue_id=world.queues[queue_name],
                assignee_id=world.staff[assignee] if assignee else None,
                status=status,
                subject_sealed=CIPHERTEXT,
                subject_redacted=f"case {case_name}",
                description_sealed=CIPHERTEXT,
                description_redacted="[EMAIL_ADDRESS:0000]",
            )
            session.add(case)
            session.flush()
            world.cases[case_name] = case.id
            session.add(
                Note(case_id=case.id, visibility=NoteVisibility.INTERNAL, body_sealed=CIPHERTEXT, body_redacted="n")
            )
            session.add(RedactionVault(case_id=case.id, source="case.description", tokens_sealed=CIPHERTEXT))
    return world


PG_ADMIN_DSN = os.environ.get("CASEVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin(sql: str) -> None:
    """Run one statement on the maintenance database (CREATE/DROP DATABASE, roles)."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def database_url(name: str, user: str | None = None) -> str:
    """The SQLAlchemy URL of database `name` on the test server, optionally as another role."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    if user is not None:
        base = base.replace("//postgres@", f"//{user}@", 1)
    return f"{base}/{name}"
