"""The access functions: every protected read of a case, customer, contact, organisation or note goes here.

Each function checks scope, records the read (or the denial, with its reason) in the audit log, and raises
the same NotFound whether the object is missing or forbidden. The scope rule itself lives in
`can_read_case` / `visible_cases` only, so policies, grants and break-glass can replace it in one place.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, exists, false, or_, select, text, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.budgets import charge_reads
from casevault.access.decisions import Allowed, Decision, Denied
from casevault.access.grants import case_ids_covered, coverage_of
from casevault.access.permissions import Permission, role_allows
from casevault.access.policy import CaseFacts, case_decision, load_staff_facts, shared_engine
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.trail import Subject, record
from casevault.cases.models import Case, Contact, Customer, Note, Organization, Queue, QueueMembership, QueueRole
from casevault.crypto.keyring import Keyring
from casevault.crypto.models import DataKey
from casevault.db.base import utcnow
from casevault.db.statements import FixedStatement, loaded
from casevault.errors import NotFound
from casevault.identity.models import Staff

__all__ = [
    "can_read_case",
    "can_read_customer",
    "case_facts_for_request",
    "case_for",
    "contact_for",
    "contacts_of",
    "customer_for",
    "customer_for_update",
    "customers_by_email",
    "is_operator",
    "loaded_labels",
    "notes_for",
    "organization_for",
    "visible_cases",
]

_CASE_ROLES = (Role.AGENT, Role.SUPERVISOR)
_Row = TypeVar("_Row", Case, Customer)

CASE_NUMBER = re.compile(r"CV-\d{4}-\d{6,9}")
CUSTOMER_REF = re.compile(r"CUST-[0-9A-Z]{4,20}")


# Built once: SQLAlchemy caches a statement's compiled form by its cache key, which a reused statement object
# computes once instead of on every request.
_BY_REFERENCE: dict[tuple[type[Case] | type[Customer], str], Select[Any]] = {
    (Case, "number"): select(Case).where(Case.number == bindparam("reference")),
    (Customer, "reference"): select(Customer).where(Customer.reference == bindparam("reference")),
}


def _by_reference(
    session: Session, model: type[_Row], column: InstrumentedAttribute[str], value: str, pattern: re.Pattern[str]
) -> _Row | None:
    # A malformed reference cannot exist, so it never reaches the database (NUL bytes would make PostgreSQL fail).
    if not pattern.fullmatch(value):
        return None
    statement = _BY_REFERENCE.get((model, column.key))
    if statement is None:
        return session.scalars(select(model).where(column == value)).first()
    found = session.scalars(statement, {"reference": value}).first()
    return found if isinstance(found, model) else None


# A case read loads what its view is labelled with (customer, queue name, assignee's name) in the same query, so
# the response needs no second one (services.case_labels takes them from here). Outer joins: the case is found
# exactly when the plain lookup finds it. A fixed statement; `loaded` makes the rows the session's objects.
_CASE_KEYS = tuple(column.key for column in Case.__table__.columns)
_CUSTOMER_KEYS = tuple(column.key for column in Customer.__table__.columns)
_CASE_WITH_LABELS = FixedStatement(
    select(*Case.__table__.columns, *Customer.__table__.columns, Queue.name, Staff.username)
    .outerjoin(Customer, Customer.id == Case.customer_id)
    .outerjoin(Queue, Queue.id == Case.queue_id)
    .outerjoin(Staff, Staff.id == Case.assignee_id)
    .where(Case.number == bindparam("reference"))
)
_LOADED_LABELS = "casevault.cases.loaded_labels"


@dataclass(frozen=True, slots=True)
class LoadedLabels:
    """A case's labels as loaded with it, and the case's references they belong to."""

    customer_id: uuid.UUID
    queue_id: uuid.UUID
    assignee_id: uuid.UUID | None
    customer: Customer | None  # held here: the session's identity map holds rows weakly
    queue_name: str | None
    assignee_username: str | None


def _case_with_labels(session: Session, number: str) -> Case | None:
    if not CASE_NUMBER.fullmatch(number):
        return None
    row = _CASE_WITH_LABELS.first(session, {"reference": number})
    if row is None:
        return None
    customer_start = len(_CASE_KEYS)
    labels_start = customer_start + len(_CUSTOMER_KEYS)
    case = loaded(session, Case, _CASE_KEYS, row[:customer_start])
    customer_row = row[customer_start:labels_start]
    customer = None if customer_row[0] is None else loaded(session, Customer, _CUSTOMER_KEYS, customer_row)
    queue_name, username = row[labels_start:]
    labels: dict[uuid.UUID, LoadedLabels] = session.info.setdefault(_LOADED_LABELS, {})
    labels[case.id] = LoadedLabels(case.customer_id, case.queue_id, case.assignee_id, customer, queue_name, username)
    return case


def loaded_labels(session: Session, case: Case) -> LoadedLabels | None:
    """The labels `case_for` loaded with `case`, if complete and still the case's (None: query them)."""
    found: LoadedLabels | None = session.info.get(_LOADED_LABELS, {}).get(case.id)
    if found is None or (found.customer_id, found.queue_id, found.assignee_id) != (
        case.customer_id,
        case.queue_id,
        case.assignee_id,
    ):
        return None
    if found.customer is None or found.queue_name is None:
        return None
    if case.assignee_id is not None and found.assignee_username is None:
        return None
    return found


def _safe_reference(value: str, pattern: re.Pattern[str]) -> str:
    # A path segment is client input and could carry an email; only well-formed references reach the log.
    return value if pattern.fullmatch(value) else "<malformed>"


def is_operator(actor: Actor) -> bool:
    """The platform itself or an operator at the server's shell, who holds the key material anyway."""
    return actor.method in (AuthMethod.CLI, AuthMethod.SYSTEM)


def can_read_case(session: Session, actor: Actor, case: Case) -> Decision:
    """The one case-scope decision, made by the Cedar policies (`visible_cases` is its SQL twin; a test
    checks they agree): assignee, queue triage, queue supervisor; suspended staff and non-case roles denied."""
    if is_operator(actor):
        return Allowed(via="operator")
    facts = load_staff_facts(session, actor)
    decision = case_decision(shared_engine(), facts, case)
    if decision or facts is None:
        return decision
    # Outside the scope: a live JIT grant or break-glass session may cover it (the policies decide what it permits).
    coverage = coverage_of(session, actor.staff_id, case_id=case.id)
    if coverage.via is None:
        return decision
    excepted = case_decision(shared_engine(), facts, case, context=coverage.context)
    return Allowed(via=coverage.via) if excepted else excepted


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the cases `can_read_case` allows for `actor`."""
    if is_operator(actor):
        return true()
    if actor.staff_id is None:
        return false()
    return _staff_scope(actor.role, actor.staff_id, None)


def _staff_scope(
    role: Role | None,
    staff_id: uuid.UUID | BindParameter[uuid.UUID],
    now: datetime | BindParameter[datetime] | None,
) -> ColumnElement[bool]:
    """`visible_cases` for a staff member; `staff_id` and `now` may be bind parameters (a statement built once)."""
    # Live JIT grants and break-glass sessions (a security officer's only way to case content).
    covered = Case.id.in_(case_ids_covered(staff_id, now))
    if role not in _CASE_ROLES:
        return covered if role == Role.SECURITY_OFFICER else false()
    member_of = select(QueueMembership.queue_id).where(QueueMembership.staff_id == staff_id)
    clause = or_(
        Case.assignee_id == staff_id,
        and_(Case.assignee_id.is_(None), Case.queue_id.in_(member_of)),
        covered,
    )
    if role == Role.SUPERVISOR:
        supervised = member_of.where(QueueMembership.role == QueueRole.SUPERVISOR)
        clause = or_(clause, Case.queue_id.in_(supervised))
    return clause


_CUSTOMER_WITH_SCOPE: dict[Role | None, FixedStatement] = {}


def _customer_with_scope(role: Role | None) -> FixedStatement:
    """(customer's columns by reference, one of its cases is readable, it has a case): one fixed statement per
    role, so a write finds its customer and its reach in one round trip."""
    statement = _CUSTOMER_WITH_SCOPE.get(role)
    if statement is None:
        of_customer = Case.customer_id == Customer.id
        scope = _staff_scope(role, bindparam("staff_id"), bindparam("now"))
        statement = _CUSTOMER_WITH_SCOPE[role] = FixedStatement(
            select(*Customer.__table__.columns, exists().where(of_customer, scope), exists().where(of_customer)).where(
                Customer.reference == bindparam("reference")
            )
        )
    return statement


def can_read_customer(session: Session, actor: Actor, customer_id: uuid.UUID) -> Decision:
    """Customer and contact data is reachable only through a case the actor may read."""
    if is_operator(actor):
        return Allowed(via="operator")
    coverage = coverage_of(session, actor.staff_id, customer_id=customer_id)
    if coverage.via is not None and not _in_scope_without_exception(session, actor, customer_id):
        return Allowed(via=coverage.via)
    reachable = session.scalar(select(exists().where(Case.customer_id == customer_id, visible_cases(actor))))
    return Allowed(via="readable-case") if reachable else Denied(reason="no readable case of this customer")


def _in_scope_without_exception(session: Session, actor: Actor, customer_id: uuid.UUID) -> bool:
    """Whether the customer is reachable through the ordinary scope alone (so `via` names a grant only when used)."""
    cases = session.scalars(select(Case).where(Case.customer_id == customer_id)).all()
    facts = load_staff_facts(session, actor)
    return any(case_decision(shared_engine(), facts, case) for case in cases)


def case_facts_for_request(session: Session, actor: Actor, number: str, *, action: AuditAction) -> CaseFacts:
    """The ids of case `number` for a grant or break-glass request; shows nothing of the case, so records no read.

    A missing case is a NotFound (audited with the requested action).
    """
    facts = _case_facts(session, number)
    if facts is None:
        _deny(session, actor, action, "case", _safe_reference(number, CASE_NUMBER), Denied(reason="no such case"))
        raise NotFound()
    return facts


def _case_facts(session: Session, number: str) -> CaseFacts | None:
    if session.get_bind().dialect.name != "postgresql":
        case = _by_reference(session, Case, Case.number, number, CASE_NUMBER)
        return None if case is None else CaseFacts.of(case)
    if not CASE_NUMBER.fullmatch(number):
        return None  # a malformed number cannot exist, and never reaches the database
    # Row-level security hides cases outside the requester's scope, which are what requests are for: the database
    # answers with the ids alone, for a bound, active staff member (migration 0012).
    row = session.execute(_CASE_FACTS, {"number": number}).first()
    return None if row is None else CaseFacts(case_id=row[0], queue_id=row[1], customer_id=row[2], assignee_id=row[3])


_CASE_FACTS = text("SELECT id, queue_id, customer_id, assignee_id FROM casevault_case_facts(:number)")


def _via_detail(decision: Decision) -> dict[str, object]:
    """`via` for the audit row; reads under break-glass are marked so reviewers can find every one of them."""
    via = decision.via if isinstance(decision, Allowed) else "denied"
    detail: dict[str, object] = {"via": via}
    if via.startswith("break-glass:"):
        detail["break_glass"] = True
    return detail


def case_for(
    session: Session,
    actor: Actor,
    number: str,
    *,
    action: AuditAction = AuditAction.CASE_VIEWED,
    record_read: bool = True,
) -> Case:
    """The case `number` if the actor may read it, else NotFound (audited either way).

    Write routes pass their own `action` and `record_read=False`: the write's audit row covers the access.
    """
    case = _case_with_labels(session, number)
    decision: Decision = Denied(reason="no such case") if case is None else can_read_case(session, actor, case)
    if case is None or isinstance(decision, Denied):
        _deny(session, actor, action, "case", _safe_reference(number, CASE_NUMBER), decision)
        raise NotFound()
    if record_read:
        charge_reads(session, actor, [Subject(case.customer_id, case.id, Exposure.OPENED)])
        record(
            session,
            actor=actor,
            action=action,
            target_type="case",
            target_id=case.number,
            subjects=[Subject(case.customer_id, case.id, Exposure.OPENED)],
            detail=_via_detail(decision),
        )
    return case


def customer_for(session: Session, actor: Actor, reference: str) -> Customer:
    """The customer `reference` if one of its cases is readable by the actor, else NotFound (audited)."""
    customer = _by_reference(session, Customer, Customer.reference, reference, CUSTOMER_REF)
    decision: Decision = (
        Denied(reason="no such customer") if customer is None else can_read_customer(session, actor, customer.id)
    )
    if customer is None or isinstance(decision, Denied):
        _deny(
            session, actor, AuditAction.CUSTOMER_VIEWED, "customer", _safe_reference(reference, CUSTOMER_REF), decision
        )
        raise NotFound()
    charge_reads(session, actor, [Subject(customer.id, None, Exposure.OPENED)])
    record(
        session,
        actor=actor,
        action=AuditAction.CUSTOMER_VIEWED,
        target_type="customer",
        target_id=customer.reference,
        subjects=[Subject(customer.id, None, Exposure.OPENED)],
        fields=["name", "email", "phone", "contacts"],
        detail=_via_detail(decision),
    )
    return customer


def customer_for_update(
    session: Session,
    actor: Actor,
    reference: str,
    *,
    action: AuditAction,
    permission: Permission = Permission.CUSTOMER_MANAGE,
) -> Customer:
    """The customer to write to (add a contact, file a case); records no read (the write's own row covers it).

    A write shows the customer back (a new case carries its masked name and email, and the case stays readable),
    so it needs the reach a read needs: a case of this customer the actor may read. Admins and operators manage
    customers globally and read no case content; a customer with no case yet may get its first case from anyone
    allowed to file one. Anything else is a NotFound, its reason audited.
    """
    scoped = not is_operator(actor) and actor.role != Role.ADMIN and actor.staff_id is not None
    reach: tuple[bool, bool] | None = None
    if not scoped:
        customer = _by_reference(session, Customer, Customer.reference, reference, CUSTOMER_REF)
    elif not CUSTOMER_REF.fullmatch(reference):
        customer = None
    else:
        params = {"reference": reference, "staff_id": actor.staff_id, "now": utcnow()}
        row = _customer_with_scope(actor.role).first(session, params)
        if row is None:
            customer = None
        else:
            customer = loaded(session, Customer, _CUSTOMER_KEYS, row[: len(_CUSTOMER_KEYS)])
            reach = (bool(row[-2]), bool(row[-1]))
    decision: Decision
    if customer is None:
        decision = Denied(reason="no such customer")
    elif not (is_operator(actor) or role_allows(actor.role, permission)):
        decision = Denied(reason=f"role lacks {permission}")
    else:
        decision = _write_scope(session, actor, customer, reach, first_case=permission == Permission.CASE_CREATE)
    if customer is None or isinstance(decision, Denied):
        _deny(session, actor, action, "customer", _safe_reference(reference, CUSTOMER_REF), decision)
        raise NotFound()
    return customer


def _write_scope(
    session: Session, actor: Actor, customer: Customer, reach: tuple[bool, bool] | None, *, first_case: bool
) -> Decision:
    if is_operator(actor) or actor.role == Role.ADMIN:
        return Allowed(via="customer-manager")
    # `reach` (a readable case of the customer, any case) came with the customer when the actor is a staff member;
    # `visible_cases` includes the cases live grants and break-glass open, so it answers what can_read_customer
    # answers (whose extra queries only name the grant for a read's audit).
    if reach is None:
        of_customer = Case.customer_id == customer.id
        found = session.execute(
            select(exists().where(of_customer, visible_cases(actor)), exists().where(of_customer))
        ).one()
        reach = (bool(found[0]), bool(found[1]))
    readable, has_case = reach
    if readable:
        return Allowed(via="readable-case")
    if first_case and not has_case:
        return Allowed(via="first-case")
    return Denied(reason="no readable case of this customer")


def contact_for(session: Session, actor: Actor, contact_id: uuid.UUID) -> Contact:
    """A contact, reachable only through a readable case of its customer; NotFound otherwise (audited)."""
    contact = session.get(Contact, contact_id)
    decision: Decision = (
        Denied(reason="no such contact") if contact is None else can_read_customer(session, actor, contact.customer_id)
    )
    if contact is None or isinstance(decision, Denied):
        _deny(session, actor, AuditAction.CONTACT_VIEWED, "contact", str(contact_id), decision)
        raise NotFound()
    charge_reads(session, actor, [Subject(contact.customer_id, None, Exposure.OPENED)])
    record(
        session,
        actor=actor,
        action=AuditAction.CONTACT_VIEWED,
        target_type="contact",
        target_id=str(contact.id),
        subjects=[Subject(contact.customer_id, None, Exposure.OPENED)],
        fields=["name", "email", "phone"],
        detail=_via_detail(decision),
    )
    return contact


def organization_for(session: Session, actor: Actor, organization_id: uuid.UUID) -> Organization:
    """An organisation, for those who manage them or who can read a case of one of its customers."""
    organization = session.get(Organization, organization_id)
    decision: Decision
    if organization is None:
        decision = Denied(reason="no such organization")
    elif is_operator(actor) or role_allows(actor.role, Permission.ORGANIZATION_MANAGE):
        decision = Allowed(via="organization-manager")
    else:
        reachable = session.scalar(
            select(
                exists().where(
                    Case.customer_id == Customer.id,
                    Customer.organization_id == organization_id,
                    visible_cases(actor),
                )
            )
        )
        decision = Allowed(via="readable-case") if reachable else Denied(reason="no readable case of this org")
    if organization is None or isinstance(decision, Denied):
        _deny(session, actor, AuditAction.ORGANIZATION_VIEWED, "organization", str(organization_id), decision)
        raise NotFound()
    record(
        session,
        actor=actor,
        action=AuditAction.ORGANIZATION_VIEWED,
        target_type="organization",
        target_id=str(organization.id),
        detail={"via": decision.via},
    )
    return organization


def contacts_of(session: Session, customer: Customer) -> Sequence[Contact]:
    """The contacts of a customer obtained through `customer_for` (whose audit row lists "contacts")."""
    return session.scalars(
        select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.created_at, Contact.id)
    ).all()


def notes_for(session: Session, actor: Actor, case: Case) -> Sequence[Note]:
    """The notes of a case already obtained through `case_for`; records that their bodies were shown."""
    notes = session.scalars(select(Note).where(Note.case_id == case.id).order_by(Note.created_at, Note.id)).all()
    record(
        session,
        actor=actor,
        action=AuditAction.NOTE_VIEWED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.OPENED)],
        fields=["body"],
        detail={"notes": [str(note.id) for note in notes]},
    )
    return notes


def customers_by_email(session: Session, keyring: Keyring, actor: Actor, email: str) -> Sequence[Customer]:
    """Customers whose email matches exactly (blind index), who have a case the actor may read, and not erased."""
    index = keyring.email_index(email)
    customers = session.scalars(
        select(Customer)
        .where(
            Customer.email_index == index,
            exists().where(Case.customer_id == Customer.id, visible_cases(actor)),
            # The blind index outlives crypto-shredding (its key is the provider's): an erased customer
            # must not be confirmable by email.
            exists().where(DataKey.owner_id == Customer.id),
        )
        .order_by(Customer.reference)
        .limit(50)
    ).all()
    charge_reads(session, actor, [Subject(customer.id, None, Exposure.LISTED) for customer in customers])
    record(
        session,
        actor=actor,
        action=AuditAction.CUSTOMER_LOOKED_UP,
        target_type="customer",
        subjects=[Subject(customer.id, None, Exposure.LISTED) for customer in customers],
        fields=["email"],
        # Neither the address nor its index: the count and the returned references only.
        detail={"matches": [customer.reference for customer in customers]},
    )
    return customers


def _deny(
    session: Session,
    actor: Actor,
    action: AuditAction,
    target_type: str,
    target_id: str,
    decision: Decision,
) -> None:
    reason = decision.reason if isinstance(decision, Denied) else "denied"
    record(
        session,
        actor=actor,
        action=action,
        outcome=Outcome.DENIED,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
    )
