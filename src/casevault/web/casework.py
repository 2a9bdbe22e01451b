"""Case work pages: my queue, the team queue (filters, search, pages), a case (notes, replies, status, assign,
take and release, resolve), the reveal dialog, and the case's own step-up past the soft read limit.

Every read goes through the case service and access functions (scoped and audited exactly as over the API);
writes call the API's route functions or the case services, which audit in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from casevault.access import reveal as reveal_service
from casevault.access.actor import Actor
from casevault.access.budgets import BudgetConfig, RevealBudgetExceeded, reveals_left
from casevault.access.decisions import Allowed
from casevault.access.grants import REASON_MAX_LENGTH, REASON_MIN_LENGTH
from casevault.access.permissions import Permission, role_allows
from casevault.access.policy import CaseLike, case_decision, load_staff_facts, shared_engine
from casevault.access.schemas import RevealIn
from casevault.api.deps import SessionDep, get_runtime, require
from casevault.audit.events import AuditAction
from casevault.cases import access, services, views
from casevault.cases import api as cases_api
from casevault.cases.models import CaseStatus, NoteVisibility, Priority
from casevault.cases.schemas import AssignIn, CustomerOut, ResolveIn
from casevault.errors import CasevaultError, Conflict, InvalidInput, StepUpRequired
from casevault.web.rendering import ConsoleRoute, csrf_of, render, safe_next
from casevault.web.stepup import StepUp, has_passkey, looks_fresh, step_up_fresh

__all__ = ["NOTE_MAX_CHARS", "PAGE_SIZE", "router"]

PAGE_SIZE = 20
NOTE_MAX_CHARS = 10_000
RESOLUTION_MAX_CHARS = 10_000

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

CaseReader = Annotated[Actor, require(Permission.CASE_READ)]
NoteWriter = Annotated[Actor, require(Permission.NOTE_CREATE)]
CaseUpdater = Annotated[Actor, require(Permission.CASE_UPDATE)]
CaseAssigner = Annotated[Actor, require(Permission.CASE_ASSIGN)]
CaseRevealer = Annotated[Actor, require(Permission.CASE_REVEAL)]
CaseTaker = Annotated[Actor, require(Permission.CASE_TAKE)]
PageNumber = Annotated[int, Query(ge=1, le=5_000)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# Filter forms send "" for "any": accepted as no filter, anything else must be a known value (422 otherwise).
FilterValue = Annotated[str | None, Query(max_length=16)]


_Choice = TypeVar("_Choice", CaseStatus, Priority)


def _choice(kind: type[_Choice], value: str | None) -> _Choice | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"{kind.__name__.lower()}: not a known value") from None


# ------------------------------------------------------------------------------------------------ queues


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    status_filter: Annotated[FilterValue, Query(alias="status")] = None,
    page: PageNumber = 1,
) -> Response:
    """Cases assigned to me, newest first (each listed case is audited)."""
    status = _choice(CaseStatus, status_filter)
    found = services.list_cases(
        session, actor=actor, status=status, assignee="me", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        "queue.html",
        {
            "actor": actor,
            "active": "queue",
            "csrf_token": csrf_of(request),
            "cases": views.case_summaries(session, found.items),
            "total": found.total,
            "page": page,
            "pages": _pages(found.total),
            "status": status,
            "statuses": list(CaseStatus),
        },
        session=session,
    )


@router.get("/team")
def team_queue(
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    status_filter: Annotated[FilterValue, Query(alias="status")] = None,
    priority_filter: Annotated[FilterValue, Query(alias="priority")] = None,
    assignee: Annotated[str | None, Query(pattern="^(me|none|)$")] = None,
    queue_filter: Annotated[str | None, Query(alias="queue", max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: PageNumber = 1,
) -> Response:
    """Every case of my queues I may see: filter by queue, status, priority and assignee, or search the redacted
    text (a search ignores the queue and assignee filters)."""
    status, priority = _choice(CaseStatus, status_filter), _choice(Priority, priority_filter)
    assignee = assignee or None
    queues = services.queue_names_of(session, actor.staff_id)
    queue_name = queue_filter or None
    if queue_name is not None and queue_name not in queues:
        raise InvalidInput("queue: not one of your queues")
    text = (q or "").strip()
    offset = (page - 1) * PAGE_SIZE
    if text:
        # The search service matches REDACTED text only; the query is neither logged nor audited.
        found = services.search_cases(
            session, text, actor=actor, status=status, priority=priority, limit=PAGE_SIZE, offset=offset
        )
    else:
        found = services.list_cases(
            session,
            actor=actor,
            status=status,
            priority=priority,
            assignee=assignee,
            queue=queue_name,
            limit=PAGE_SIZE,
            offset=offset,
        )
    filters = {
        "queue": None if text else queue_name,
        "status": status,
        "priority": priority,
        "assignee": None if text else assignee,
        "q": text or None,
    }
    query = "&".join(f"{name}={quote(str(value))}" for name, value in filters.items() if value and name != "q")
    takeable, releasable = _take_buttons(session, actor, found.items)
    here = "/team" + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "team.html",
        {
            "actor": actor,
            "active": "team",
            "csrf_token": csrf_of(request),
            "cases": views.case_summaries(session, found.items),
            "total": found.total,
            "page": page,
            "pages": _pages(found.total),
            "filters": filters,
            "filter_query": query,
            "statuses": list(CaseStatus),
            "priorities": list(Priority),
            "queues": queues,
            "takeable": takeable,
            "releasable": releasable,
            "here": safe_next(here, "/team"),
        },
        session=session,
    )


class _Listed(CaseLike, Protocol):
    """What the Take/Release buttons need of a case row."""

    number: str
    status: CaseStatus


def _take_buttons(session: Session, actor: Actor, cases: Sequence[_Listed]) -> tuple[set[str], set[str]]:
    """For the buttons only (the API's routes decide): the cases I may take, and those I may hand back."""
    if not role_allows(actor.role, Permission.CASE_TAKE):
        return set(), set()
    facts = load_staff_facts(session, actor)
    takeable: set[str] = set()
    releasable: set[str] = set()
    for case in cases:
        if case.status == CaseStatus.CLOSED:
            continue
        if case.assignee_id is not None and case.assignee_id == actor.staff_id:
            releasable.add(case.number)
        elif case.assignee_id is None:
            decision = case_decision(shared_engine(), facts, case, Permission.CASE_TAKE)
            if isinstance(decision, Allowed):
                takeable.add(case.number)
    return takeable, releasable


# ------------------------------------------------------------------------------------------------ case


@dataclass(frozen=True)
class RevealDialog:
    """What the reveal dialog shows: the target, whether a code is needed, the budget, and once revealed, the value."""

    token: str | None
    field: str | None
    label: str
    needs_code: bool
    left: int | None
    reason: str = ""
    error: str | None = None
    value: str | None = None


def _target_label(target: reveal_service.RevealTarget) -> str:
    kind = target.entity_type.replace("_", " ").lower()
    if target.token is not None:
        return kind
    owner = "customer" if target.contact_id is None else "contact"
    return f"{owner} {target.attribute}"


def _customer(session: SessionDep, request: Request, actor: Actor, reference: str) -> CustomerOut | None:
    """The case's customer, masked; None once crypto-shredded (the case outlives the person's data)."""
    customer = access.customer_for(session, actor, reference)
    try:
        return views.customer_view(
            session, get_runtime(request).keyring, customer, contacts=access.contacts_of(session, customer)
        )
    except services.CustomerErased:
        return None


def _case_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    number: str,
    *,
    errors: dict[str, str] | None = None,
    dialog: RevealDialog | None = None,
    status_code: int = 200,
) -> Response:
    keyring = get_runtime(request).keyring
    case = services.get_case(session, number, actor=actor)
    detail = views.case_detail(session, keyring, case)
    notes = views.note_views(session, access.notes_for(session, actor, case))
    can_assign = role_allows(actor.role, Permission.CASE_ASSIGN) and case.status != CaseStatus.CLOSED
    takeable, releasable = _take_buttons(session, actor, [case])
    context: dict[str, Any] = {
        "actor": actor,
        "csrf_token": csrf_of(request),
        "case": detail,
        "customer": _customer(session, request, actor, detail.customer.reference),
        "notes": notes,
        "errors": errors or {},
        "dialog": dialog,
        "can_reveal": role_allows(actor.role, Permission.CASE_REVEAL),
        "passkeys": dialog is not None and dialog.needs_code and has_passkey(session, actor),
        "can_resolve": case.status in (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING),
        "members": [staff.username for staff in services.assignable_staff(session, case)] if can_assign else [],
        "can_assign": can_assign,
        "can_take": case.number in takeable,
        "can_release": case.number in releasable,
        "next_statuses": sorted(
            (status for status in services.ALLOWED_TRANSITIONS[case.status] if status != CaseStatus.RESOLVED),
            key=list(CaseStatus).index,
        ),
    }
    response = render(request, "case.html", context, status_code=status_code, session=session)
    if dialog is not None and dialog.value is not None:
        response.headers["cache-control"] = "no-store"
    return response


@router.get("/cases/{number}")
def case_page(number: str, request: Request, session: SessionDep, actor: CaseReader) -> Response:
    """One case: redacted text with typed chips, the masked customer and the notes timeline.

    Past the hour's soft read limit the access layer asks for a step-up: the page asks for the code (or a passkey)
    in place and opens the case once given; the refusal is audited and counts towards containment (ADR 0584).
    """
    try:
        return _case_page(request, session, actor, number)
    except StepUpRequired:
        return _open_step_up(request, session, actor, number, error=None)


def _open_step_up(
    request: Request, session: SessionDep, actor: Actor, number: str, *, error: str | None, status_code: int = 401
) -> Response:
    limits = BudgetConfig.from_settings(get_runtime(request).settings).limits_for(actor.role)
    context: dict[str, Any] = {
        "actor": actor,
        "csrf_token": csrf_of(request),
        "number": number,
        "soft_limit": limits.opened_soft_hour,
        "refusals_to_contain": limits.soft_refusals_to_contain,
        "error": error,
        "passkeys": has_passkey(session, actor),
    }
    return render(request, "case_step_up.html", context, status_code=status_code, session=session)


@router.post("/cases/{number}/open")
def open_after_step_up(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Step the session up (a code through the API's route; a passkey has already done so), then open the case.

    Nothing is read here: the case opens on the redirect, through the access layer, like any other case.
    """
    stepped = step_up_fresh(request, session, actor, code)
    if stepped.needed:
        error = stepped.error or "Enter the 6-digit code from your app."
        return stepped.pass_cookies(_open_step_up(request, session, actor, number, error=error))
    return stepped.pass_cookies(_see_other(f"/cases/{quote(number)}"))


@router.post("/cases/{number}/notes")
def add_note(
    number: str,
    request: Request,
    session: SessionDep,
    actor: NoteWriter,
    body: Annotated[str, Form(max_length=NOTE_MAX_CHARS)] = "",
    visibility: Annotated[NoteVisibility, Form()] = NoteVisibility.INTERNAL,
) -> Response:
    """Add an internal note or a public reply (redacted and sealed by the case service), then show the case."""
    case = access.case_for(session, actor, number, action=AuditAction.NOTE_ADDED, record_read=False)
    if not body.strip():
        return _case_page(request, session, actor, number, errors={"note": "Write something first."}, status_code=400)
    try:
        services.add_note(
            session, case, keyring=get_runtime(request).keyring, body=body, visibility=visibility, actor=actor
        )
    except CasevaultError as exc:
        if exc.status_code != 422:
            raise
        return _case_page(request, session, actor, number, errors={"note": exc.public_message}, status_code=400)
    return _see_other(f"/cases/{case.number}#notes")


@router.post("/cases/{number}/status")
def change_status(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseUpdater,
    status: Annotated[CaseStatus, Form()],
) -> Response:
    """Move the case to another status (resolving, which needs a resolution text, has its own form)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_STATUS_CHANGED, record_read=False)
    try:
        services.change_status(session, case, status, actor=actor)
    except services.InvalidTransition:
        error = "That status change is not allowed."
        return _case_page(request, session, actor, number, errors={"status": error}, status_code=409)
    return _see_other(f"/cases/{case.number}")


@router.post("/cases/{number}/resolve")
def resolve(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseUpdater,
    resolution: Annotated[str, Form(max_length=RESOLUTION_MAX_CHARS)] = "",
) -> Response:
    """Resolve the case with a resolution text, through the API's route (sealed, redacted, audited)."""
    try:
        body = ResolveIn(resolution=resolution)
    except ValidationError:
        body = None
    if body is None or not resolution.strip():
        # Still only for a case the actor may read: the page load below is the access check (404 otherwise).
        error = "Say how the case was resolved."
        return _case_page(request, session, actor, number, errors={"resolve": error}, status_code=400)
    try:
        cases_api.resolve_case(number, body, session, get_runtime(request).keyring, actor)
    except services.InvalidTransition:
        error = "This case cannot be resolved from its current status."
        return _case_page(request, session, actor, number, errors={"resolve": error}, status_code=409)
    return _see_other(f"/cases/{number}")


@router.post("/cases/{number}/assign")
def assign(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseAssigner,
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Assign the case to a member of its queue (or to me, or to nobody), through the API's route."""
    username = actor.username if assignee == "@me" else assignee.strip() or None
    try:
        body = AssignIn(assignee=username)
        cases_api.assign_case(number, body, session, get_runtime(request).keyring, actor)
    except (ValidationError, InvalidInput) as exc:
        message = exc.public_message if isinstance(exc, CasevaultError) else "Pick a member of the case's queue."
        return _case_page(request, session, actor, number, errors={"assign": message.capitalize()}, status_code=400)
    return _see_other(f"/cases/{number}")


NextForm = Annotated[str, Form(alias="next", max_length=500)]


def _take_or_release(
    request: Request, session: SessionDep, actor: Actor, number: str, next_path: str, *, release: bool
) -> Response:
    route = cases_api.release_case if release else cases_api.take_case
    try:
        route(number, session, get_runtime(request).keyring, actor)
    except Conflict:
        # Someone was quicker (or it was handed back meanwhile): show the case as it is now, with why.
        message = "This case is not assigned to you." if release else "The case is already assigned."
        return _case_page(request, session, actor, number, errors={"assign": message}, status_code=409)
    except InvalidInput as exc:
        message = exc.public_message.capitalize() + "."
        return _case_page(request, session, actor, number, errors={"assign": message}, status_code=exc.status_code)
    return _see_other(safe_next(next_path, f"/cases/{number}"))


@router.post("/cases/{number}/take")
def take(number: str, request: Request, session: SessionDep, actor: CaseTaker, next_path: NextForm = "") -> Response:
    """Take an unassigned case of my queue (assign it to me) through the API's route, audited as an assignment."""
    return _take_or_release(request, session, actor, number, next_path, release=False)


@router.post("/cases/{number}/release")
def release(number: str, request: Request, session: SessionDep, actor: CaseTaker, next_path: NextForm = "") -> Response:
    """Hand my own case back to its queue (unassigned) through the API's route."""
    return _take_or_release(request, session, actor, number, next_path, release=True)


# ------------------------------------------------------------------------------------------------ reveal


def _dialog(
    request: Request,
    session: SessionDep,
    actor: Actor,
    target: reveal_service.RevealTarget,
    *,
    needs_code: bool,
    reason: str = "",
    error: str | None = None,
    value: str | None = None,
) -> RevealDialog:
    return RevealDialog(
        token=target.token,
        field=None if target.token is not None else target.label,
        label=_target_label(target),
        needs_code=needs_code,
        left=reveals_left(session, actor),
        reason=reason,
        error=error,
        value=value,
    )


@router.get("/cases/{number}/reveal")
def reveal_form(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseRevealer,
    token: Annotated[str | None, Query(max_length=80)] = None,
    field: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """The case with the reveal dialog open: a reason, a code when the session needs a step-up, the budget left."""
    target = reveal_service.parse_target(token, field)
    needs_code = not looks_fresh(request, actor)
    dialog = _dialog(request, session, actor, target, needs_code=needs_code)
    return _case_page(request, session, actor, number, dialog=dialog)


@router.post("/cases/{number}/reveal")
def reveal_submit(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseRevealer,
    reason: Annotated[str, Form(max_length=REASON_MAX_LENGTH)] = "",
    token: Annotated[str | None, Form(max_length=80)] = None,
    field: Annotated[str | None, Form(max_length=80)] = None,
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Step up when a code is given, then reveal through the API's route (policy, budget, audit without the value)."""
    access.case_for(session, actor, number, action=AuditAction.PII_REVEALED, record_read=False)
    target = reveal_service.parse_target(token or None, field or None)
    if len(reason.strip()) < REASON_MIN_LENGTH:
        error = f"Give a reason of at least {REASON_MIN_LENGTH} characters."
        dialog = _dialog(
            request, session, actor, target, needs_code=not looks_fresh(request, actor), reason=reason, error=error
        )
        return _case_page(request, session, actor, number, dialog=dialog, status_code=400)
    stepped: StepUp = step_up_fresh(request, session, actor, code)
    if stepped.needed or stepped.actor is None:
        # The server says a step-up is needed: ask for the code, keeping the reason typed so far.
        dialog = _dialog(request, session, actor, target, needs_code=True, reason=reason, error=stepped.error)
        page = _case_page(request, session, actor, number, dialog=dialog, status_code=400 if stepped.error else 200)
        return stepped.pass_cookies(page)
    fresh = stepped.actor
    body = RevealIn(token=target.token, field=None if target.token is not None else target.label, reason=reason)
    try:
        revealed = cases_api.reveal_pii(number, body, Response(), session, get_runtime(request).keyring, fresh, fresh)
    except RevealBudgetExceeded:
        error = "You have used this hour's reveal budget. Try again later or ask your supervisor."
        dialog = _dialog(request, session, fresh, target, needs_code=False, reason=reason, error=error)
        return stepped.pass_cookies(_case_page(request, session, fresh, number, dialog=dialog, status_code=429))
    dialog = _dialog(request, session, fresh, target, needs_code=False, value=revealed.value)
    return stepped.pass_cookies(_case_page(request, session, fresh, number, dialog=dialog))
