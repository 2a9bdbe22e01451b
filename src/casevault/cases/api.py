"""HTTP routes for cases, notes, customers, contacts, organisations and queues (mounted under /api/v1).

Every route declares its permission with `require`; every protected read goes through `cases.access`;
responses carry redacted free text and masked structured PII only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from casevault.access import reveal
from casevault.access.actor import Actor
from casevault.access.decisions import Denied
from casevault.access.permissions import Permission
from casevault.access.policy import case_decision, load_staff_facts, shared_engine
from casevault.access.schemas import RevealIn, RevealOut
from casevault.api.deps import SessionDep, StepUpDep, UnitOfWorkRoute, get_runtime, require
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.cases import access, services, views
from casevault.cases.models import CaseStatus
from casevault.cases.schemas import (
    QUEUE_NAME,
    USERNAME,
    AssignIn,
    CaseCreate,
    CaseDetail,
    CasePageOut,
    ContactCreate,
    ContactOut,
    CustomerCreate,
    CustomerOut,
    CustomerSummaryList,
    MemberAdd,
    MemberOut,
    NoteCreate,
    NoteList,
    NoteOut,
    OrganizationCreate,
    OrganizationList,
    OrganizationOut,
    QueueCreate,
    QueueOut,
    RemarksIn,
    ResolveIn,
    StatusIn,
)
from casevault.crypto.keyring import Keyring
from casevault.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from casevault.identity.models import Staff

__all__ = ["router"]

router = APIRouter(route_class=UnitOfWorkRoute)

T = TypeVar("T")


async def _keyring(request: Request) -> Keyring:
    # async: it does no I/O, so it runs on the event loop instead of costing a thread-pool round trip.
    return get_runtime(request).keyring


KeyringDep = Annotated[Keyring, Depends(_keyring)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


CaseReader = Annotated[Actor, require(Permission.CASE_READ)]
CaseCreator = Annotated[Actor, require(Permission.CASE_CREATE)]
CaseUpdater = Annotated[Actor, require(Permission.CASE_UPDATE)]
CaseAssigner = Annotated[Actor, require(Permission.CASE_ASSIGN)]
CaseRevealer = Annotated[Actor, require(Permission.CASE_REVEAL)]
NoteCreator = Annotated[Actor, require(Permission.NOTE_CREATE)]
CustomerReader = Annotated[Actor, require(Permission.CUSTOMER_READ)]
CustomerManager = Annotated[Actor, require(Permission.CUSTOMER_MANAGE)]
OrganizationManager = Annotated[Actor, require(Permission.ORGANIZATION_MANAGE)]
QueueManager = Annotated[Actor, require(Permission.QUEUE_MANAGE)]


# ------------------------------------------------------------------------------------------------ cases


@router.post("/cases", status_code=201, tags=["cases"])
def create_case(body: CaseCreate, session: SessionDep, keyring: KeyringDep, actor: CaseCreator) -> CaseDetail:
    """Open a case for a customer in a queue you belong to."""
    customer = access.customer_for_update(
        session, actor, body.customer, action=AuditAction.CASE_CREATED, permission=Permission.CASE_CREATE
    )
    queue = _known(lambda: services.find_queue(session, body.queue, member=actor.staff_id), "queue")
    username = body.assignee
    assignee = _known(lambda: services.find_staff(session, username), "assignee") if username else None
    case = services.create_case(
        session,
        keyring=keyring,
        customer=customer,
        queue=queue,
        subject=body.subject,
        description=body.description,
        priority=body.priority,
        assignee=assignee,
        actor=actor,
    )
    return views.case_detail(session, keyring, case)


@router.get("/cases", tags=["cases"])
def list_cases(
    session: SessionDep,
    actor: CaseReader,
    status: CaseStatus | None = None,
    queue: Annotated[str | None, Query(max_length=64, pattern=QUEUE_NAME)] = None,
    assignee: Annotated[
        str | None, Query(max_length=64, pattern=USERNAME, description="username, `me` or `none`")
    ] = None,
    limit: Limit = 25,
    offset: Offset = 0,
) -> CasePageOut:
    """Cases you may read, newest first."""
    page = services.list_cases(
        session, actor=actor, status=status, queue=queue, assignee=assignee, limit=limit, offset=offset
    )
    return CasePageOut(items=views.case_summaries(session, page.items), total=page.total, limit=limit, offset=offset)


@router.get("/cases/search", tags=["cases"])
def search_cases(
    session: SessionDep,
    actor: CaseReader,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Limit = 25,
    offset: Offset = 0,
) -> CasePageOut:
    """Full-text search over the redacted text of the cases you may read."""
    page = services.search_cases(session, q, actor=actor, limit=limit, offset=offset)
    return CasePageOut(items=views.case_summaries(session, page.items), total=page.total, limit=limit, offset=offset)


@router.get("/cases/{number}", tags=["cases"])
def get_case(number: str, session: SessionDep, keyring: KeyringDep, actor: CaseReader) -> CaseDetail:
    """One case, with redacted text and the customer's masked name and email."""
    return views.case_detail(session, keyring, services.get_case(session, number, actor=actor))


@router.post("/cases/{number}/reveal", tags=["cases"])
def reveal_pii(
    number: str,
    body: RevealIn,
    response: Response,
    session: SessionDep,
    keyring: KeyringDep,
    actor: CaseRevealer,
    _fresh: StepUpDep,
) -> RevealOut:
    """Show one masked value in clear (a token from the text, or a customer/contact field), with a reason.

    Needs a session stepped up within the window (tokens never qualify); audited without the value.
    """
    target = reveal.parse_target(body.token, body.field)
    case = access.case_for(session, actor, number, action=AuditAction.PII_REVEALED, record_read=False)
    revealed = reveal.reveal_value(session, keyring, case, target, reason=body.reason, stepped_up=True, actor=actor)
    response.headers["cache-control"] = "no-store"
    return RevealOut(case=case.number, entity_type=target.entity_type, target=target.label, value=revealed.value)


@router.post("/cases/{number}/assign", tags=["cases"])
def assign_case(
    number: str, body: AssignIn, session: SessionDep, keyring: KeyringDep, actor: CaseAssigner
) -> CaseDetail:
    """Assign a case to a member of its queue (null unassigns)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_ASSIGNED, record_read=False)
    username = body.assignee
    assignee = _known(lambda: services.find_staff(session, username), "assignee") if username else None
    services.assign_case(session, case, assignee, actor=actor)
    return views.case_detail(session, keyring, case)


@router.post("/cases/{number}/status", tags=["cases"])
def change_status(
    number: str, body: StatusIn, session: SessionDep, keyring: KeyringDep, actor: CaseUpdater
) -> CaseDetail:
    """Move a case to another status (resolving goes through /resolve)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_STATUS_CHANGED, record_read=False)
    services.change_status(session, case, body.status, actor=actor)
    return views.case_detail(session, keyring, case)


@router.post("/cases/{number}/resolve", tags=["cases"])
def resolve_case(
    number: str, body: ResolveIn, session: SessionDep, keyring: KeyringDep, actor: CaseUpdater
) -> CaseDetail:
    """Resolve a case with resolution text."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_RESOLVED, record_read=False)
    services.resolve_case(session, case, keyring=keyring, resolution=body.resolution, actor=actor)
    return views.case_detail(session, keyring, case)


@router.patch("/cases/{number}/remarks", tags=["cases"])
def update_remarks(
    number: str, body: RemarksIn, session: SessionDep, keyring: KeyringDep, actor: CaseUpdater
) -> CaseDetail:
    """Replace the case's remarks (null clears them)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_UPDATED, record_read=False)
    services.update_remarks(session, case, keyring=keyring, remarks=body.remarks, actor=actor)
    return views.case_detail(session, keyring, case)


@router.post("/cases/{number}/notes", status_code=201, tags=["cases"])
def add_note(number: str, body: NoteCreate, session: SessionDep, keyring: KeyringDep, actor: NoteCreator) -> NoteOut:
    """Add a public reply or an internal note."""
    case = access.case_for(session, actor, number, action=AuditAction.NOTE_ADDED, record_read=False)
    note = services.add_note(session, case, keyring=keyring, body=body.body, visibility=body.visibility, actor=actor)
    return views.note_views(session, [note])[0]


@router.get("/cases/{number}/notes", tags=["cases"])
def list_notes(number: str, session: SessionDep, actor: CaseReader) -> NoteList:
    """The notes of a case, oldest first, redacted."""
    case = access.case_for(session, actor, number, action=AuditAction.NOTE_VIEWED, record_read=False)
    return NoteList(items=views.note_views(session, access.notes_for(session, actor, case)))


# ------------------------------------------------------------------------------------------------ organisations


@router.post("/organizations", status_code=201, tags=["customers"])
def create_organization(body: OrganizationCreate, session: SessionDep, actor: OrganizationManager) -> OrganizationOut:
    """Add a customer organisation."""
    organization = services.create_organization(
        session, name=body.name, country=body.country, sector=body.sector, actor=actor
    )
    return views.organization_view(organization)


@router.get("/organizations", tags=["customers"])
def list_organizations(
    session: SessionDep, actor: OrganizationManager, limit: Limit = 50, offset: Offset = 0
) -> OrganizationList:
    """Organisations by name."""
    organizations = services.list_organizations(session, limit=limit, offset=offset, actor=actor)
    return OrganizationList(items=[views.organization_view(o) for o in organizations], limit=limit, offset=offset)


# ------------------------------------------------------------------------------------------------ customers


@router.post("/customers", status_code=201, tags=["customers"])
def create_customer(
    body: CustomerCreate, session: SessionDep, keyring: KeyringDep, actor: CustomerManager
) -> CustomerOut:
    """Create a customer; the response shows only masked values."""
    organization_id = body.organization_id
    organization = (
        _known(lambda: services.find_organization(session, organization_id), "organization_id")
        if organization_id is not None
        else None
    )
    customer = services.create_customer(
        session,
        keyring=keyring,
        name=body.name,
        email=body.email,
        phone=body.phone,
        country=body.country,
        organization=organization,
        actor=actor,
    )
    return views.customer_view(session, keyring, customer, contacts=[])


@router.get("/customers/lookup", tags=["customers"])
def lookup_customer(
    session: SessionDep,
    keyring: KeyringDep,
    actor: CustomerReader,
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> CustomerSummaryList:
    """Customers with exactly this email who have a case you may read (blind-index lookup)."""
    customers = access.customers_by_email(session, keyring, actor, email)
    items = [views.customer_summary(session, keyring, customer) for customer in customers]
    return CustomerSummaryList(items=items)


@router.get("/customers/{reference}", tags=["customers"])
def get_customer(reference: str, session: SessionDep, keyring: KeyringDep, actor: CustomerReader) -> CustomerOut:
    """A customer reachable through one of your cases, masked, with its contacts."""
    customer = access.customer_for(session, actor, reference)
    return views.customer_view(session, keyring, customer, contacts=access.contacts_of(session, customer))


@router.post("/customers/{reference}/contacts", status_code=201, tags=["customers"])
def add_contact(
    reference: str, body: ContactCreate, session: SessionDep, keyring: KeyringDep, actor: CustomerManager
) -> ContactOut:
    """Add a billing or technical contact to a customer."""
    customer = access.customer_for_update(session, actor, reference, action=AuditAction.CONTACT_CREATED)
    contact = services.add_contact(
        session,
        customer,
        keyring=keyring,
        kind=body.kind,
        name=body.name,
        email=body.email,
        phone=body.phone,
        actor=actor,
    )
    return views.contact_view(session, keyring, contact)


# ------------------------------------------------------------------------------------------------ queues


@router.post("/queues", status_code=201, tags=["queues"])
def create_queue(body: QueueCreate, session: SessionDep, actor: QueueManager) -> QueueOut:
    """Create a work queue."""
    queue = services.create_queue(session, name=body.name, description=body.description, actor=actor)
    return QueueOut(name=queue.name, description=queue.description)


@router.post("/queues/{name}/members", status_code=201, tags=["queues"])
def add_queue_member(
    name: Annotated[str, Path(pattern=QUEUE_NAME)], body: MemberAdd, session: SessionDep, actor: QueueManager
) -> MemberOut:
    """Add a member or supervisor to a queue (or change their role in it)."""
    queue = services.find_queue(session, name)
    staff = _known(lambda: services.find_staff(session, body.username), "username")
    membership = services.add_queue_member(session, queue, staff, role=body.role, actor=actor)
    return MemberOut(queue=queue.name, username=staff.username, role=membership.role)


# ------------------------------------------------------------------------------------------------ helpers


def _known(load: Callable[[], T], field: str) -> T:
    """A referenced object in a request body; unknown ones are a 422 naming the field, not a 404."""
    try:
        return load()
    except NotFound:
        raise InvalidInput(f"{field}: unknown") from None


# ------------------------------------------------------------------------------------------------ taking work
# Agents take work themselves (docs/adr/0704-take-and-release-case-take-permission.md): `case:take` lets an agent
# or supervisor assign an unassigned case of its own queues to itself, or hand its own case back. The Cedar
# policy `take.own-queue` decides; the change is services.assign_case, audited as an assignment.

CaseTaker = Annotated[Actor, require(Permission.CASE_TAKE)]


@router.post("/cases/{number}/take", tags=["cases"])
def take_case(number: str, session: SessionDep, keyring: KeyringDep, actor: CaseTaker) -> CaseDetail:
    """Assign an unassigned case of one of my queues to me (409 if it is already assigned)."""
    return _take_or_release(session, keyring, actor, number, release=False)


@router.post("/cases/{number}/release", tags=["cases"])
def release_case(number: str, session: SessionDep, keyring: KeyringDep, actor: CaseTaker) -> CaseDetail:
    """Hand my own case back to its queue, unassigned (409 if it is not assigned to me)."""
    return _take_or_release(session, keyring, actor, number, release=True)


def _take_or_release(session: SessionDep, keyring: Keyring, actor: Actor, number: str, *, release: bool) -> CaseDetail:
    """Read scope first (404 outside it), then `take.own-queue` (403, audited), then the state (409)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_ASSIGNED, record_read=False)
    me = session.get(Staff, actor.staff_id) if actor.staff_id is not None else None
    decision = case_decision(shared_engine(), load_staff_facts(session, actor), case, Permission.CASE_TAKE)
    if me is None or isinstance(decision, Denied):
        record(
            session,
            actor=actor,
            action=AuditAction.CASE_ASSIGNED,
            outcome=Outcome.DENIED,
            target_type="case",
            target_id=case.number,
            reason=decision.reason if isinstance(decision, Denied) else "not a staff member",
        )
        raise PermissionDenied()
    if release and case.assignee_id != me.id:
        raise Conflict("the case is not assigned to you")
    if not release and case.assignee_id is not None:
        raise Conflict("the case is already assigned")
    services.assign_case(session, case, None if release else me, actor=actor)
    return views.case_detail(session, keyring, case)
