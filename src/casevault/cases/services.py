"""What changes cases, customers, contacts, queues and organisations, and the readers built on the access functions.

Every function takes the session first and a keyword-only `actor`, writes its audit row in the same
transaction and never commits: the request or CLI unit of work does. PII goes in only through these functions,
which seal it under the customer's data key (and redact free text) before it touches a row.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from casevault.access.actor import Actor
from casevault.access.budgets import charge_reads
from casevault.access.permissions import Permission, role_allows
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.trail import Subject, record
from casevault.cases import access
from casevault.cases.models import (
    Case,
    CaseCounter,
    CaseSearchDocument,
    CaseStatus,
    Contact,
    ContactKind,
    Customer,
    Note,
    NoteVisibility,
    Organization,
    Priority,
    Queue,
    QueueMembership,
    QueueRole,
    RedactionVault,
)
from casevault.cases.search import match_cases, new_search_document, query_terms, refresh_search_document
from casevault.cases.text import KnownValue, ProtectedText, known_values, protect_text, seal_tokens
from casevault.crypto.keyring import Keyring, KeyShredded, OwnerKey, aad_for
from casevault.db.base import utcnow
from casevault.db.statements import FixedStatement, loaded, run_together
from casevault.errors import Conflict, InvalidInput, NotFound
from casevault.identity.models import Staff, StaffStatus

__all__ = [
    "ALLOWED_TRANSITIONS",
    "LIMITS",
    "CaseLabels",
    "CasePage",
    "CustomerErased",
    "InvalidTransition",
    "OpenedPerson",
    "add_contact",
    "add_note",
    "add_queue_member",
    "allocate_case_number",
    "assign_case",
    "assignable_staff",
    "case_labels",
    "change_status",
    "create_case",
    "create_customer",
    "create_organization",
    "create_queue",
    "find_organization",
    "find_queue",
    "find_staff",
    "get_case",
    "list_cases",
    "list_organizations",
    "open_customer",
    "resolve_case",
    "search_cases",
    "update_remarks",
]

# Maximum lengths in characters, shared with the API schemas.
LIMITS = {
    "subject": 200,
    "description": 20_000,
    "note": 20_000,
    "resolution": 10_000,
    "remarks": 10_000,
    "name": 200,
    "email": 254,
    "phone": 40,
}
_SUBJECT_REDACTED_MAX = 500

# Resolving needs resolution text, so RESOLVED is reached only through resolve_case().
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.CLOSED}),
    CaseStatus.OPEN: frozenset({CaseStatus.PENDING, CaseStatus.CLOSED}),
    CaseStatus.PENDING: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}
_RESOLVABLE = frozenset({CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING})


class CustomerErased(Conflict):
    """The customer's data key was destroyed (crypto-shredded): nothing of theirs can be opened or added."""

    public_message = "the customer's data has been erased"


class InvalidTransition(Conflict):
    """The requested status change is not allowed from the case's current status."""

    def __init__(self, current: CaseStatus, requested: CaseStatus) -> None:
        super().__init__()
        self.public_message = f"status cannot change from {current} to {requested}"


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page of cases the actor may read, and how many there are in all."""

    items: Sequence[Case]
    total: int
    limit: int
    offset: int


# --------------------------------------------------------------------------------------------- organisations


def create_organization(session: Session, *, name: str, country: str, sector: str, actor: Actor) -> Organization:
    """Add a customer organisation (business data, stored in clear: breakdowns need country and sector)."""
    organization = Organization(
        id=uuid.uuid4(),
        name=_required(name, "name", 200),
        country=_country(country),
        sector=_required(sector, "sector", 64).lower(),
        created_at=utcnow(),
    )
    session.add(organization)
    record(
        session,
        actor=actor,
        action=AuditAction.ORGANIZATION_CREATED,
        target_type="organization",
        target_id=str(organization.id),
        fields=["name", "country", "sector"],
    )
    return organization


def list_organizations(session: Session, *, limit: int = 50, offset: int = 0, actor: Actor) -> Sequence[Organization]:
    """Organisations by name, for those who manage them (the route declares the permission); audited."""
    organizations = session.scalars(
        select(Organization).order_by(Organization.name, Organization.id).limit(limit).offset(offset)
    ).all()
    record(
        session,
        actor=actor,
        action=AuditAction.ORGANIZATION_LISTED,
        target_type="organization",
        detail={"returned": [str(organization.id) for organization in organizations]},
    )
    return organizations


# --------------------------------------------------------------------------------------------- customers


def create_customer(
    session: Session,
    *,
    keyring: Keyring,
    name: str,
    email: str,
    country: str,
    phone: str | None = None,
    organization: Organization | None = None,
    actor: Actor,
) -> Customer:
    """Create a customer with its own data key; name, email and phone are sealed, the email blind-indexed."""
    customer_id = uuid.uuid4()
    owner_key = keyring.create(session, customer_id)
    name = _required(name, "name", LIMITS["name"])
    email = _email(email)
    customer = Customer(
        id=customer_id,
        reference=_new_reference(),
        organization_id=organization.id if organization is not None else None,
        country=_country(country),
        name_sealed=owner_key.seal(name, aad_for("customers", "name_sealed", customer_id)),
        email_sealed=owner_key.seal(email, aad_for("customers", "email_sealed", customer_id)),
        email_index=keyring.email_index(email),
        phone_sealed=_seal_phone(owner_key, "customers", customer_id, phone),
        created_at=utcnow(),
    )
    session.add(customer)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.CUSTOMER_CREATED,
        target_type="customer",
        target_id=customer.reference,
        subjects=[Subject(customer.id, None, Exposure.WRITTEN)],
        fields=["name", "email"] + (["phone"] if phone else []),
    )
    return customer


def add_contact(
    session: Session,
    customer: Customer,
    *,
    keyring: Keyring,
    kind: ContactKind,
    name: str,
    email: str,
    phone: str | None = None,
    actor: Actor,
) -> Contact:
    """Add a billing or technical contact, sealed under the customer's key like the customer itself."""
    owner_key = _owner_key(session, keyring, customer.id)
    contact_id = uuid.uuid4()
    name = _required(name, "name", LIMITS["name"])
    email = _email(email)
    contact = Contact(
        id=contact_id,
        customer_id=customer.id,
        kind=kind,
        name_sealed=owner_key.seal(name, aad_for("contacts", "name_sealed", contact_id)),
        email_sealed=owner_key.seal(email, aad_for("contacts", "email_sealed", contact_id)),
        email_index=keyring.email_index(email),
        phone_sealed=_seal_phone(owner_key, "contacts", contact_id, phone),
        created_at=utcnow(),
    )
    session.add(contact)
    session.flush()
    _forget_known(session, customer.id)
    record(
        session,
        actor=actor,
        action=AuditAction.CONTACT_CREATED,
        target_type="contact",
        target_id=str(contact.id),
        subjects=[Subject(customer.id, None, Exposure.WRITTEN)],
        fields=["name", "email"] + (["phone"] if phone else []),
        detail={"kind": str(kind)},
    )
    return contact


@dataclass(frozen=True, slots=True)
class OpenedPerson:
    """Clear values of a customer or contact, for masking or an audited reveal; never logged (no repr)."""

    name: str
    email: str
    phone: str | None

    def __repr__(self) -> str:
        return "OpenedPerson(<sealed values>)"


def open_customer(session: Session, keyring: Keyring, person: Customer | Contact) -> OpenedPerson:
    """Decrypt a customer's or contact's sealed fields. Callers mask them or audit a reveal; never log them."""
    owner_id = person.id if isinstance(person, Customer) else person.customer_id
    return _open_person(_owner_key(session, keyring, owner_id), person)


def _open_person(owner_key: OwnerKey, person: Customer | Contact) -> OpenedPerson:
    table = "customers" if isinstance(person, Customer) else "contacts"
    return _open_sealed(owner_key, table, person.id, person.name_sealed, person.email_sealed, person.phone_sealed)


def _open_sealed(
    owner_key: OwnerKey, table: str, row_id: uuid.UUID, name: bytes, email: bytes, phone: bytes | None
) -> OpenedPerson:
    return OpenedPerson(
        name=owner_key.open(name, aad_for(table, "name_sealed", row_id)),
        email=owner_key.open(email, aad_for(table, "email_sealed", row_id)),
        phone=owner_key.open(phone, aad_for(table, "phone_sealed", row_id)) if phone is not None else None,
    )


# --------------------------------------------------------------------------------------------- queues


def create_queue(session: Session, *, name: str, description: str = "", actor: Actor) -> Queue:
    """Create a work queue; names are unique (Conflict otherwise)."""
    name = _required(name, "name", 64)
    if session.scalars(select(Queue.id).where(Queue.name == name)).first() is not None:
        raise Conflict()
    queue = Queue(id=uuid.uuid4(), name=name, description=description.replace("\x00", "")[:500])
    session.add(queue)
    record(session, actor=actor, action=AuditAction.QUEUE_CREATED, target_type="queue", target_id=name)
    return queue


def add_queue_member(
    session: Session, queue: Queue, staff: Staff, *, role: QueueRole = QueueRole.MEMBER, actor: Actor
) -> QueueMembership:
    """Make `staff` a member (or supervisor) of `queue`; changing the role of an existing member is allowed."""
    if staff.role not in (Role.AGENT, Role.SUPERVISOR):
        raise InvalidInput("only agents and supervisors can join queues")
    if role == QueueRole.SUPERVISOR and staff.role != Role.SUPERVISOR:
        raise InvalidInput("only staff with the supervisor role can supervise a queue")
    membership = session.get(QueueMembership, (queue.id, staff.id))
    if membership is None:
        membership = QueueMembership(queue_id=queue.id, staff_id=staff.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    record(
        session,
        actor=actor,
        action=AuditAction.QUEUE_MEMBER_ADDED,
        target_type="queue",
        target_id=queue.name,
        detail={"staff_id": str(staff.id), "role": str(role)},
    )
    return membership


_PINNED = "casevault.cases.pinned"


_QUEUE_KEYS = tuple(column.key for column in Queue.__table__.columns)
_MEMBERSHIP_KEYS = tuple(column.key for column in QueueMembership.__table__.columns)
_QUEUE_WITH_MEMBERSHIP = FixedStatement(
    select(*Queue.__table__.columns, *QueueMembership.__table__.columns)
    .outerjoin(
        QueueMembership,
        and_(QueueMembership.queue_id == Queue.id, QueueMembership.staff_id == bindparam("member")),
    )
    .where(Queue.name == bindparam("name"))
)


def find_queue(session: Session, name: str, *, member: uuid.UUID | None = None) -> Queue:
    """The queue called `name` (queues are not protected data), or NotFound.

    `member`: also load that staff member's membership of it in the same query, so the membership checks of
    create_case() that follow need no query of their own.
    """
    if member is None:
        queue = session.scalars(select(Queue).where(Queue.name == name)).first()
    else:
        row = _QUEUE_WITH_MEMBERSHIP.first(session, {"name": name, "member": member})
        queue = None
        if row is not None:
            queue = loaded(session, Queue, _QUEUE_KEYS, row[: len(_QUEUE_KEYS)])
            membership_row = row[len(_QUEUE_KEYS) :]
            if membership_row[0] is not None:
                membership = loaded(session, QueueMembership, _MEMBERSHIP_KEYS, membership_row)
                # The identity map holds rows weakly: keep the membership alive for the checks that look it up.
                session.info.setdefault(_PINNED, []).append(membership)
    if queue is None:
        raise NotFound()
    return queue


def find_staff(session: Session, username: str) -> Staff:
    """Active staff member `username`, or NotFound."""
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None or staff.status != StaffStatus.ACTIVE:
        raise NotFound()
    return staff


# --------------------------------------------------------------------------------------------- cases


def _case_number_upsert(insert: Callable[..., Any]) -> FixedStatement:
    return FixedStatement(
        insert(CaseCounter)
        .values(year=bindparam("year"), last_value=1)
        .on_conflict_do_update(index_elements=[CaseCounter.year], set_={"last_value": CaseCounter.last_value + 1})
        .returning(CaseCounter.last_value)
    )


_NEXT_CASE_NUMBER = {"postgresql": _case_number_upsert(postgresql.insert), "sqlite": _case_number_upsert(sqlite.insert)}


def allocate_case_number(session: Session, year: int) -> str:
    """The next `CV-YYYY-NNNNNN`: one atomic upsert, so concurrent transactions never get the same number.

    On PostgreSQL the conflicting row is locked until the caller commits; on SQLite the write lock does it.
    """
    connection = session.connection()
    row = _NEXT_CASE_NUMBER[connection.dialect.name].first(connection, {"year": year})
    assert row is not None  # RETURNING of an upsert always gives the row
    return f"CV-{year:04d}-{row[0]:06d}"


def create_case(
    session: Session,
    *,
    keyring: Keyring,
    customer: Customer,
    queue: Queue,
    subject: str,
    description: str,
    priority: Priority = Priority.NORMAL,
    assignee: Staff | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> Case:
    """Open a case for `customer` in `queue`; subject and description are sealed and stored redacted.

    The actor must belong to the queue (or be an admin or operator); an assignee must be a member of it, and
    must be the actor unless the actor may assign cases.
    """
    if not _may_file_into(session, actor, queue):
        record(
            session,
            actor=actor,
            action=AuditAction.CASE_CREATED,
            outcome=Outcome.DENIED,
            target_type="queue",
            target_id=queue.name,
            reason="not a member of the queue",
        )
        raise NotFound()
    if assignee is not None:
        if assignee.id != actor.staff_id and not (
            access.is_operator(actor) or role_allows(actor.role, Permission.CASE_ASSIGN)
        ):
            raise InvalidInput("assignee: only supervisors assign a new case to someone else")
        _check_assignee(session, queue, assignee)
    created = now or utcnow()
    owner_key = _owner_key(session, keyring, customer.id)
    known = _known_for(session, owner_key, customer.id)
    case_id = uuid.uuid4()
    subject_text = protect_text(
        owner_key,
        table="cases",
        column="subject",
        row_id=case_id,
        text=_required(subject, "subject", LIMITS["subject"]),
        known=known,
    )
    description_text = protect_text(
        owner_key,
        table="cases",
        column="description",
        row_id=case_id,
        text=_required(description, "description", LIMITS["description"], strip=False),
        known=known,
    )
    case = Case(
        id=case_id,
        # Allocated after the (slow) redaction: the counter row stays locked from here until commit.
        number=allocate_case_number(session, created.year),
        customer_id=customer.id,
        queue_id=queue.id,
        assignee_id=assignee.id if assignee is not None else None,
        status=CaseStatus.OPEN if assignee is not None else CaseStatus.NEW,
        priority=priority,
        subject_sealed=subject_text.sealed,
        subject_redacted=_fit(subject_text.redacted, _SUBJECT_REDACTED_MAX),
        description_sealed=description_text.sealed,
        description_redacted=description_text.redacted,
        resolution_sealed=None,
        resolution_redacted=None,
        remarks_sealed=None,
        remarks_redacted=None,
        created_at=created,
        updated_at=created,
        resolved_at=None,
    )
    _insert_new_case(
        session,
        case,
        [
            _new_vault(owner_key, case_id, "case.subject", subject_text),
            _new_vault(owner_key, case_id, "case.description", description_text),
        ],
    )
    record(
        session,
        actor=actor,
        action=AuditAction.CASE_CREATED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(customer.id, case.id, Exposure.WRITTEN)],
        fields=["subject", "description"],
        detail={
            "queue": queue.name,
            "priority": str(priority),
            "assignee_id": str(assignee.id) if assignee else None,
            "withheld": [
                name for name, text in (("subject", subject_text), ("description", description_text)) if text.withheld
            ],
        },
    )
    return case


def assign_case(session: Session, case: Case, to: Staff | None, *, actor: Actor) -> Case:
    """Assign the case to a member of its queue (None unassigns it); a new case becomes open."""
    if case.status == CaseStatus.CLOSED:
        raise InvalidInput("a closed case cannot be reassigned")
    if to is not None:
        _check_assignee(session, session.get_one(Queue, case.queue_id), to)
    previous = case.assignee_id
    case.assignee_id = to.id if to is not None else None
    if to is not None and case.status == CaseStatus.NEW:
        case.status = CaseStatus.OPEN
    case.updated_at = utcnow()
    record(
        session,
        actor=actor,
        action=AuditAction.CASE_ASSIGNED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.WRITTEN)],
        fields=["assignee"],
        detail={"from": str(previous) if previous else None, "to": str(to.id) if to else None},
    )
    return case


def assignable_staff(session: Session, case: Case) -> list[Staff]:
    """Who `assign_case` accepts for this case: active agents and supervisors of its queue, by username."""
    members = select(QueueMembership.staff_id).where(QueueMembership.queue_id == case.queue_id)
    return list(
        session.scalars(
            select(Staff)
            .where(
                Staff.id.in_(members),
                Staff.status == StaffStatus.ACTIVE,
                Staff.role.in_((Role.AGENT, Role.SUPERVISOR)),
            )
            .order_by(Staff.username)
        ).all()
    )


def change_status(session: Session, case: Case, status: CaseStatus, *, actor: Actor) -> Case:
    """Move the case along ALLOWED_TRANSITIONS (InvalidTransition otherwise); reopening clears resolved_at."""
    if status not in ALLOWED_TRANSITIONS[case.status]:
        raise InvalidTransition(case.status, status)
    previous = case.status
    case.status = status
    if previous == CaseStatus.RESOLVED and status == CaseStatus.OPEN:
        case.resolved_at = None
    case.updated_at = utcnow()
    record(
        session,
        actor=actor,
        action=AuditAction.CASE_STATUS_CHANGED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.WRITTEN)],
        fields=["status"],
        detail={"from": str(previous), "to": str(status)},
    )
    return case


def add_note(
    session: Session,
    case: Case,
    *,
    keyring: Keyring,
    body: str,
    visibility: NoteVisibility = NoteVisibility.INTERNAL,
    actor: Actor,
) -> Note:
    """Add a public reply or an internal note; the body is sealed and stored redacted."""
    if case.status == CaseStatus.CLOSED:
        raise InvalidInput("a closed case takes no new notes")
    owner_key = _owner_key(session, keyring, case.customer_id)
    note_id = uuid.uuid4()
    text = protect_text(
        owner_key,
        table="notes",
        column="body",
        row_id=note_id,
        text=_required(body, "body", LIMITS["note"], strip=False),
        known=_known_for(session, owner_key, case.customer_id),
    )
    note = Note(
        id=note_id,
        case_id=case.id,
        author_id=actor.staff_id,
        visibility=visibility,
        body_sealed=text.sealed,
        body_redacted=text.redacted,
        created_at=utcnow(),
    )
    session.add(note)
    case.updated_at = note.created_at
    _store_tokens(session, owner_key, case, f"note:{note_id}", text, source_is_new=True)
    refresh_search_document(session, case)
    record(
        session,
        actor=actor,
        action=AuditAction.NOTE_ADDED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.WRITTEN)],
        fields=["body"],
        detail={"note_id": str(note_id), "visibility": str(visibility), "withheld": text.withheld},
    )
    return note


def resolve_case(session: Session, case: Case, *, keyring: Keyring, resolution: str, actor: Actor) -> Case:
    """Resolve a new, open or pending case with resolution text (sealed and redacted)."""
    if case.status not in _RESOLVABLE:
        raise InvalidTransition(case.status, CaseStatus.RESOLVED)
    owner_key = _owner_key(session, keyring, case.customer_id)
    text = protect_text(
        owner_key,
        table="cases",
        column="resolution",
        row_id=case.id,
        text=_required(resolution, "resolution", LIMITS["resolution"], strip=False),
        known=_known_for(session, owner_key, case.customer_id),
    )
    previous = case.status
    case.resolution_sealed = text.sealed
    case.resolution_redacted = text.redacted
    case.status = CaseStatus.RESOLVED
    case.resolved_at = case.updated_at = utcnow()
    _store_tokens(session, owner_key, case, "case.resolution", text)
    refresh_search_document(session, case)
    record(
        session,
        actor=actor,
        action=AuditAction.CASE_RESOLVED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.WRITTEN)],
        fields=["resolution", "status"],
        detail={"from": str(previous), "withheld": text.withheld},
    )
    return case


def update_remarks(session: Session, case: Case, *, keyring: Keyring, remarks: str | None, actor: Actor) -> Case:
    """Replace the case's remarks (None or blank clears them); sealed and redacted like other free text."""
    owner_key = _owner_key(session, keyring, case.customer_id)
    withheld = False
    if remarks is None or not remarks.strip():
        case.remarks_sealed = None
        case.remarks_redacted = None
        _store_tokens(session, owner_key, case, "case.remarks", None)
    else:
        remarks = _required(remarks, "remarks", LIMITS["remarks"], strip=False)
        text = protect_text(
            owner_key,
            table="cases",
            column="remarks",
            row_id=case.id,
            text=remarks,
            known=_known_for(session, owner_key, case.customer_id),
        )
        case.remarks_sealed = text.sealed
        case.remarks_redacted = text.redacted
        withheld = text.withheld
        _store_tokens(session, owner_key, case, "case.remarks", text)
    case.updated_at = utcnow()
    refresh_search_document(session, case)
    record(
        session,
        actor=actor,
        action=AuditAction.CASE_UPDATED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.WRITTEN)],
        fields=["remarks"],
        detail={"withheld": withheld},
    )
    return case


# --------------------------------------------------------------------------------------------- readers


def get_case(session: Session, number: str, *, actor: Actor) -> Case:
    """The case if the actor may read it (audited as opened); NotFound if missing or out of scope."""
    return access.case_for(session, actor, number)


def list_cases(
    session: Session,
    *,
    actor: Actor,
    status: CaseStatus | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    priority: Priority | None = None,
    limit: int = 25,
    offset: int = 0,
) -> CasePage:
    """Cases in the actor's scope, newest first, filtered; every returned case is audited as listed.

    `assignee` is a username, `"me"` or `"none"` (unassigned); an unknown queue or username matches nothing.
    """
    conditions = [access.visible_cases(actor)]
    if status is not None:
        conditions.append(Case.status == status)
    if priority is not None:
        conditions.append(Case.priority == priority)
    if queue is not None:
        conditions.append(Case.queue_id.in_(select(Queue.id).where(Queue.name == queue)))
    if assignee == "none":
        conditions.append(Case.assignee_id.is_(None))
    elif assignee == "me":
        conditions.append(Case.assignee_id == actor.staff_id)
    elif assignee is not None:
        conditions.append(Case.assignee_id.in_(select(Staff.id).where(Staff.username == assignee)))
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    cases = session.scalars(
        select(Case).where(*conditions).order_by(Case.created_at.desc(), Case.number.desc()).limit(limit).offset(offset)
    ).all()
    _record_listed(
        session,
        actor,
        AuditAction.CASE_LISTED,
        cases,
        {
            "filters": sorted(
                name
                for name, value in (
                    ("status", status),
                    ("queue", queue),
                    ("assignee", assignee),
                    ("priority", priority),
                )
                if value
            ),
            "total": total,
        },
    )
    return CasePage(items=cases, total=total, limit=limit, offset=offset)


def search_cases(
    session: Session,
    query: str,
    *,
    actor: Actor,
    status: CaseStatus | None = None,
    priority: Priority | None = None,
    limit: int = 25,
    offset: int = 0,
) -> CasePage:
    """Cases in scope whose REDACTED text contains every term; the query itself is never logged or audited."""
    terms = query_terms(query)
    if not terms:
        raise InvalidInput("q: needs at least one word")
    conditions = [access.visible_cases(actor), Case.id.in_(match_cases(session, terms))]
    if status is not None:
        conditions.append(Case.status == status)
    if priority is not None:
        conditions.append(Case.priority == priority)
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    cases = session.scalars(
        select(Case).where(*conditions).order_by(Case.updated_at.desc(), Case.number.desc()).limit(limit).offset(offset)
    ).all()
    _record_listed(session, actor, AuditAction.CASE_SEARCHED, cases, {"terms": len(terms), "total": total})
    return CasePage(items=cases, total=total, limit=limit, offset=offset)


# --------------------------------------------------------------------------------------------- helpers


def _record_listed(
    session: Session, actor: Actor, action: AuditAction, cases: Sequence[Case], detail: dict[str, object]
) -> None:
    charge_reads(session, actor, [Subject(case.customer_id, case.id, Exposure.LISTED) for case in cases])
    record(
        session,
        actor=actor,
        action=action,
        target_type="case",
        subjects=[Subject(case.customer_id, case.id, Exposure.LISTED) for case in cases],
        fields=["subject"],
        detail={**detail, "returned": [case.number for case in cases]},
    )


def _may_file_into(session: Session, actor: Actor, queue: Queue) -> bool:
    # Admins file cases on behalf of customers without joining queues; staff file into their own queues.
    if access.is_operator(actor) or actor.role == Role.ADMIN:
        return True
    if actor.staff_id is None or not role_allows(actor.role, Permission.CASE_CREATE):
        return False
    return session.get(QueueMembership, (queue.id, actor.staff_id)) is not None


def _check_assignee(session: Session, queue: Queue, staff: Staff) -> None:
    if staff.status != StaffStatus.ACTIVE or staff.role not in (Role.AGENT, Role.SUPERVISOR):
        raise InvalidInput("assignee: must be an active agent or supervisor")
    if session.get(QueueMembership, (queue.id, staff.id)) is None:
        raise InvalidInput("assignee: must be a member of the case's queue")


_CASE_ROW = insert(Case).values({column.key: bindparam(column.key) for column in Case.__table__.columns})
_INSERT_CASE = FixedStatement(_CASE_ROW)
_INSERT_VAULT = FixedStatement(
    insert(RedactionVault).values({column.key: bindparam(column.key) for column in RedactionVault.__table__.columns})
)


# PostgreSQL: the case and its search document in one statement (data-modifying WITH; foreign keys are checked
# when the statement ends, so the document may reference the case).
_NEW_CASE_ROWS = FixedStatement(
    insert(CaseSearchDocument)
    .values({key: bindparam(f"document_{key}") for key in ("case_id", "body", "updated_at")})
    .add_cte(_CASE_ROW.cte("new_case"))
)
_NEW_VAULT_ROWS: dict[int, FixedStatement] = {}


def _new_vault_rows(vaults: int) -> FixedStatement:
    """PostgreSQL: `vaults` token maps in one statement. Not in the case's statement: the token maps' row-level
    security policy checks that their case is readable, and a statement cannot see the rows its own WITH inserts."""
    statement = _NEW_VAULT_ROWS.get(vaults)
    if statement is None:
        columns = [column.key for column in RedactionVault.__table__.columns]
        rows: list[dict[str, Any]] = [
            {key: bindparam(f"vault{index}_{key}") for key in columns} for index in range(vaults)
        ]
        statement = _NEW_VAULT_ROWS[vaults] = FixedStatement(insert(RedactionVault).values(rows))
    return statement


def _new_vault(owner_key: OwnerKey, case_id: uuid.UUID, source: str, text: ProtectedText) -> dict[str, object] | None:
    """The row of a new source's sealed token map (None when the text had no tokens)."""
    if not text.tokens:
        return None
    vault_id = uuid.uuid4()
    return {
        "id": vault_id,
        "case_id": case_id,
        "source": source,
        "tokens_sealed": seal_tokens(owner_key, vault_id, text.tokens),
    }


def _insert_new_case(session: Session, case: Case, vaults: Sequence[dict[str, object] | None]) -> None:
    """INSERT a new case, its token maps and its search document now, with fixed statements, and make
    the case a persistent object of the session, as a flush would, without the ORM unit of work (ADR 0456).

    Every column of `case` must be set: the session treats the set attributes as loaded.
    """
    session.flush()  # anything pending (a customer created in the same transaction) goes first
    row = {column.key: case.__dict__[column.key] for column in Case.__table__.columns}
    new_vaults = [vault for vault in vaults if vault is not None]
    document_insert, document = new_search_document(case)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _NEW_CASE_ROWS.run(connection, {**row, **{f"document_{key}": value for key, value in document.items()}})
        if new_vaults:
            params: dict[str, object] = {}
            for index, vault in enumerate(new_vaults):
                params.update({f"vault{index}_{key}": value for key, value in vault.items()})
            _new_vault_rows(len(new_vaults)).run(connection, params)
    else:
        steps = [(_INSERT_CASE, row), *((_INSERT_VAULT, vault) for vault in new_vaults), (document_insert, document)]
        run_together(connection, steps)
    make_transient_to_detached(case)
    session.add(case)


def _store_tokens(
    session: Session,
    owner_key: OwnerKey,
    case: Case,
    source: str,
    text: ProtectedText | None,
    *,
    source_is_new: bool = False,
) -> None:
    """Keep one sealed token map per case and source; an empty map removes the row.

    `source_is_new` (a new case's fields, a new note) means no row can exist yet, so none is looked up.
    """
    vault = (
        None
        if source_is_new
        else session.scalars(
            select(RedactionVault).where(RedactionVault.case_id == case.id, RedactionVault.source == source)
        ).first()
    )
    if text is None or not text.tokens:
        if vault is not None:
            session.delete(vault)
        return
    if vault is None:
        vault = RedactionVault(id=uuid.uuid4(), case_id=case.id, source=source, tokens_sealed=b"")
        session.add(vault)
    vault.tokens_sealed = seal_tokens(owner_key, vault.id, text.tokens)


_KNOWN_CACHE = "casevault.cases.known_values"


def _forget_known(session: Session, customer_id: uuid.UUID) -> None:
    session.info.get(_KNOWN_CACHE, {}).pop(customer_id, None)


_CONTACTS_OF = FixedStatement(
    select(Contact.id, Contact.name_sealed, Contact.email_sealed, Contact.phone_sealed).where(
        Contact.customer_id == bindparam("customer_id")
    )
)


def _known_for(session: Session, owner_key: OwnerKey, customer_id: uuid.UUID) -> list[KnownValue]:
    """What the platform holds about the customer and its contacts, to redact wherever it appears in text.

    Kept for the unit of work (decrypting and compiling them per text dominated bulk seeding); adding a
    contact forgets the customer's entry. The contacts' sealed fields come by a fixed statement (after the
    autoflush, the values their objects in the session hold), not as ORM entities.
    """
    cache: dict[uuid.UUID, list[KnownValue]] = session.info.setdefault(_KNOWN_CACHE, {})
    if customer_id in cache:
        return cache[customer_id]
    contacts = _CONTACTS_OF.rows(session, {"customer_id": customer_id})
    opened: list[OpenedPerson] = []
    customer = session.get(Customer, customer_id)
    if customer is not None:
        opened.append(_open_person(owner_key, customer))
    opened.extend(_open_sealed(owner_key, "contacts", *contact) for contact in contacts)
    known: list[KnownValue] = []
    for person in opened:
        known.extend(known_values(person.name, person.email, person.phone))
    cache[customer_id] = known
    return known


def _owner_key(session: Session, keyring: Keyring, owner_id: uuid.UUID) -> OwnerKey:
    try:
        return keyring.for_owner(session, owner_id)
    except KeyShredded:
        raise CustomerErased() from None


def _seal_phone(owner_key: OwnerKey, table: str, row_id: uuid.UUID, phone: str | None) -> bytes | None:
    if phone is None or not phone.strip():
        return None
    phone = phone.strip()
    if len(phone) > LIMITS["phone"] or sum(char.isdigit() for char in phone) < 4:
        raise InvalidInput("phone: not a phone number")
    return owner_key.seal(phone, aad_for(table, "phone_sealed", row_id))


def _required(value: str, field: str, limit: int, strip: bool = True) -> str:
    cleaned = value.strip() if strip else value
    if "\x00" in cleaned:
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail inside the database.
        raise InvalidInput(f"{field}: must not contain NUL characters")
    if not cleaned.strip():
        raise InvalidInput(f"{field}: must not be blank")
    if len(cleaned) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters")
    return cleaned


def _email(value: str) -> str:
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > LIMITS["email"] or any(c.isspace() for c in email):
        raise InvalidInput("email: not an email address")
    return email


def _country(value: str) -> str:
    country = value.strip().upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise InvalidInput("country: must be an ISO 3166-1 alpha-2 code")
    return country


def _new_reference() -> str:
    # Random, not sequential: a reference must not let anyone count or enumerate customers.
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "CUST-" + "".join(secrets.choice(alphabet) for _ in range(10))


def _fit(redacted: str, limit: int) -> str:
    """Shorten redacted text to `limit` characters without cutting a token in half."""
    if len(redacted) <= limit:
        return redacted
    cut = redacted[: limit - 1]
    if cut.rfind("[") > cut.rfind("]"):
        cut = cut[: cut.rfind("[")]
    return cut + "…"


@dataclass(frozen=True, slots=True)
class CaseLabels:
    """Names that label cases in views: queue names, assignee usernames, customers by id."""

    queues: dict[uuid.UUID, str]
    staff: dict[uuid.UUID, str]
    customers: dict[uuid.UUID, Customer]


_LABELS = (
    select(Customer, Queue.id, Queue.name, Staff.id, Staff.username)
    .select_from(Case)
    .join(Customer, Customer.id == Case.customer_id)
    .join(Queue, Queue.id == Case.queue_id)
    .outerjoin(Staff, Staff.id == Case.assignee_id)
)
_LABELS_OF_ONE = _LABELS.where(Case.id == bindparam("case_id"))


def case_labels(session: Session, cases: Sequence[Case], *, notes: Sequence[Note] = ()) -> CaseLabels:
    """Batch-load the labels for cases (and note authors) already obtained through the access functions.

    Labels `case_for` loaded with its case, and rows already in the session (the queue and customer a route just
    used), cost nothing; the rest come in one query for the cases and one for note authors.
    """
    queues: dict[uuid.UUID, str] = {}
    staff: dict[uuid.UUID, str] = {}
    customers: dict[uuid.UUID, Customer] = {}
    unlabelled: list[uuid.UUID] = []
    for case in cases:
        preloaded = access.loaded_labels(session, case)
        if preloaded is not None and preloaded.customer is not None and preloaded.queue_name is not None:
            customers[preloaded.customer.id] = preloaded.customer
            queues[case.queue_id] = preloaded.queue_name
            if case.assignee_id is not None and preloaded.assignee_username is not None:
                staff[case.assignee_id] = preloaded.assignee_username
            continue
        queue = _in_session(session, Queue, case.queue_id)
        customer = _in_session(session, Customer, case.customer_id)
        assignee = _in_session(session, Staff, case.assignee_id)
        if queue is None or customer is None or (case.assignee_id is not None and assignee is None):
            unlabelled.append(case.id)
            continue
        queues[queue.id] = queue.name
        customers[customer.id] = customer
        if assignee is not None:
            staff[assignee.id] = assignee.username
    if unlabelled:
        if len(unlabelled) == 1:  # one case's view: a statement built once
            rows = session.execute(_LABELS_OF_ONE, {"case_id": unlabelled[0]}).all()
        else:
            rows = session.execute(_LABELS.where(Case.id.in_(unlabelled))).all()
        for customer, queue_id, queue_name, staff_id, username in rows:
            customers[customer.id] = customer
            queues[queue_id] = queue_name
            if staff_id is not None:
                staff[staff_id] = username
    authors = {note.author_id for note in notes if note.author_id is not None}
    for author_id in list(authors):
        author = _in_session(session, Staff, author_id)
        if author is not None:
            staff[author_id] = author.username
            authors.discard(author_id)
    if authors:
        names = session.execute(select(Staff.id, Staff.username).where(Staff.id.in_(authors))).all()
        staff.update((staff_id, username) for staff_id, username in names)
    return CaseLabels(queues=queues, staff=staff, customers=customers)


_Loaded = TypeVar("_Loaded", Queue, Customer, Staff)


def _in_session(session: Session, model: type[_Loaded], row_id: uuid.UUID | None) -> _Loaded | None:
    """The row if this session already holds it (no query), else None."""
    if row_id is None:
        return None
    found = session.identity_map.get(identity_key(model, row_id))
    return found if isinstance(found, model) else None


def find_organization(session: Session, organization_id: uuid.UUID) -> Organization:
    """The organisation to attach a new customer to (nothing is shown, so nothing is recorded), or NotFound."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    return organization


def queue_names_of(session: Session, staff_id: uuid.UUID | None) -> list[str]:
    """The names of the queues a staff member belongs to, by name (queues are not protected data)."""
    if staff_id is None:
        return []
    member_of = select(QueueMembership.queue_id).where(QueueMembership.staff_id == staff_id)
    return list(session.scalars(select(Queue.name).where(Queue.id.in_(member_of)).order_by(Queue.name)).all())
