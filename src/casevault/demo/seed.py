"""Seed a database with the generated demo dataset through the case services (sealed, redacted, audited)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission, role_allows
from casevault.access.roles import Role
from casevault.audit.events import AuditAction
from casevault.audit.trail import record
from casevault.cases import services
from casevault.cases.models import Case, CaseStatus, Customer, Queue
from casevault.crypto.keyring import Keyring
from casevault.db.session import Database
from casevault.demo.generator import CaseData, DemoDataset, DemoSize, StaffData, generate
from casevault.identity.models import Staff, StaffStatus
from casevault.identity.tokens import issue_token

__all__ = ["DemoCredential", "SeedSummary", "issue_demo_tokens", "seed_demo"]

_BATCH = 100
_DEMO_TOKEN_NAME = "demo"
_DEMO_TOKEN_TTL = timedelta(days=1)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What was seeded and how long it took."""

    organizations: int
    customers: int
    countries: int
    sectors: int
    queues: int
    staff: int
    cases: int
    notes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class DemoCredential:
    """A demo user and a fresh API token for it (shown once by `casevault demo`)."""

    username: str
    display_name: str
    role: Role
    token: str = field(repr=False)


def seed_demo(
    db: Database,
    keyring: Keyring,
    *,
    size: DemoSize | None = None,
    seed: int = 2026,
    dataset: DemoDataset | None = None,
    progress: ProgressCallback | None = None,
) -> SeedSummary:
    """Write the dataset (generated from `seed` unless given) in batches of 100 cases per transaction."""
    started = time.perf_counter()
    data = dataset if dataset is not None else generate(size, seed=seed)
    system = Actor.system("demo-seed")

    with db.unit_of_work() as session:
        organizations = [
            services.create_organization(session, name=o.name, country=o.country, sector=o.sector, actor=system)
            for o in data.organizations
        ]
        queues = {
            q.name: services.create_queue(session, name=q.name, description=q.description, actor=system)
            for q in data.queues
        }
        staff = {member.username: _create_staff(session, member, actor=system) for member in data.staff}
        session.flush()
        for member in data.staff:
            for queue_name, queue_role in member.queues:
                services.add_queue_member(
                    session, queues[queue_name], staff[member.username], role=queue_role, actor=system
                )
        customers: list[Customer] = []
        for item in data.customers:
            customer = services.create_customer(
                session,
                keyring=keyring,
                name=item.name,
                email=item.email,
                country=item.country,
                phone=item.phone,
                organization=organizations[item.organization],
                actor=system,
            )
            for contact in item.contacts:
                services.add_contact(
                    session,
                    customer,
                    keyring=keyring,
                    kind=contact.kind,
                    name=contact.name,
                    email=contact.email,
                    phone=contact.phone,
                    actor=system,
                )
            customers.append(customer)
    # Rows are reused across transactions below; expire_on_commit is off, so their loaded ids stay valid.

    notes = 0
    total = len(data.cases)
    for start in range(0, total, _BATCH):
        with db.unit_of_work() as session:
            for case_data in data.cases[start : start + _BATCH]:
                notes += _seed_case(session, keyring, case_data, customers, queues, staff)
        if progress is not None:
            progress(min(start + _BATCH, total), total)

    return SeedSummary(
        organizations=len(data.organizations),
        customers=len(data.customers),
        countries=len({o.country for o in data.organizations}),
        sectors=len({o.sector for o in data.organizations}),
        queues=len(data.queues),
        staff=len(data.staff),
        cases=total,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def _seed_case(
    session: Session,
    keyring: Keyring,
    item: CaseData,
    customers: list[Customer],
    queues: dict[str, Queue],
    staff: dict[str, Staff],
) -> int:
    customer = session.merge(customers[item.customer], load=False)
    queue = session.merge(queues[item.queue], load=False)
    assignee = session.merge(staff[item.assignee], load=False) if item.assignee else None
    # Seeded work is attributed to the agent who would have done it, marked by a session ref that says so.
    actor = (
        Actor(
            staff_id=assignee.id,
            username=assignee.username,
            role=assignee.role,
            method=AuthMethod.SYSTEM,
            session_ref="demo-seed",
        )
        if assignee is not None
        else Actor.system("demo-seed")
    )
    case = services.create_case(
        session,
        keyring=keyring,
        customer=customer,
        queue=queue,
        subject=item.subject,
        description=item.description,
        priority=item.priority,
        assignee=assignee,
        actor=actor,
    )
    for note in item.notes:
        services.add_note(session, case, keyring=keyring, body=note.body, visibility=note.visibility, actor=actor)
    if item.remarks:
        services.update_remarks(session, case, keyring=keyring, remarks=item.remarks, actor=actor)
    _move_to(session, keyring, case, item, actor)
    return len(item.notes)


def _move_to(session: Session, keyring: Keyring, case: Case, item: CaseData, actor: Actor) -> None:
    if item.status is CaseStatus.PENDING:
        services.change_status(session, case, CaseStatus.PENDING, actor=actor)
    elif item.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        services.resolve_case(session, case, keyring=keyring, resolution=item.resolution or "Resolved.", actor=actor)
        if item.status is CaseStatus.CLOSED:
            services.change_status(session, case, CaseStatus.CLOSED, actor=actor)


def _create_staff(session: Session, member: StaffData, *, actor: Actor) -> Staff:
    staff = Staff(username=member.username, display_name=member.display_name, role=member.role)
    session.add(staff)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.STAFF_CREATED,
        target_type="staff",
        target_id=str(staff.id),
        detail={"role": str(member.role)},
    )
    return staff


def issue_demo_tokens(session: Session, *, actor: Actor | None = None) -> list[DemoCredential]:
    """A fresh one-day API token, scoped to its role's permissions, for every active staff member."""
    issuer = actor or Actor.system("demo")
    credentials: list[DemoCredential] = []
    members = session.scalars(
        select(Staff).where(Staff.status == StaffStatus.ACTIVE).order_by(Staff.role, Staff.username)
    ).all()
    for member in members:
        scopes = [str(p) for p in Permission if role_allows(member.role, p)]
        token, secret = issue_token(session, member, name=_DEMO_TOKEN_NAME, scopes=scopes, ttl=_DEMO_TOKEN_TTL)
        session.flush()
        record(
            session,
            actor=issuer,
            action=AuditAction.TOKEN_CREATED,
            target_type="token",
            target_id=str(token.id),
            detail={"staff_id": str(member.id), "scopes": token.scopes, "ttl_days": _DEMO_TOKEN_TTL.days},
        )
        credentials.append(DemoCredential(member.username, member.display_name, member.role, secret))
    return credentials
