"""Access pages: request just-in-time access to a case, the supervisors' approval inbox, and break-glass.

Each action calls the route function of `access.api`, so the Cedar policies (a different supervisor approves;
step-up and a reason for approval and break-glass), the audit rows and the break-glass alert are the API's.
The step-up is made inline from a code field on the form (`web.stepup`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from casevault.access import api as access_api
from casevault.access.actor import Actor
from casevault.access.grants import REASON_MAX_LENGTH, REASON_MIN_LENGTH, GrantListing
from casevault.access.permissions import Permission, role_allows
from casevault.access.schemas import BreakGlassIn, GrantRequestIn
from casevault.api.deps import SessionDep, get_runtime, require
from casevault.web.rendering import ConsoleRoute, csrf_of, render
from casevault.web.stepup import has_passkey, looks_fresh, step_up_fresh

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SelfManager = Annotated[Actor, require(Permission.SELF_MANAGE)]
GrantRequester = Annotated[Actor, require(Permission.GRANT_REQUEST)]
GrantApprover = Annotated[Actor, require(Permission.GRANT_APPROVE)]
GlassBreaker = Annotated[Actor, require(Permission.BREAK_GLASS)]
CaseNumberForm = Annotated[str, Form(max_length=32)]
ReasonForm = Annotated[str, Form(max_length=REASON_MAX_LENGTH)]
CodeForm = Annotated[str, Form(max_length=10)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _reason_error(reason: str) -> str | None:
    if len(reason.strip()) < REASON_MIN_LENGTH:
        return f"Give a reason of at least {REASON_MIN_LENGTH} characters."
    return None


def _access_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    may_request = role_allows(actor.role, Permission.GRANT_REQUEST)
    mine = access_api.list_grants(session, actor, GrantListing.MINE).items if may_request else []
    context: dict[str, Any] = {
        "actor": actor,
        "active": "access",
        "csrf_token": csrf_of(request),
        "grants": mine,
        "may_request": may_request,
        "may_break_glass": role_allows(actor.role, Permission.BREAK_GLASS),
        "needs_code": not looks_fresh(request, actor),
        "passkeys": has_passkey(session, actor),
        "errors": errors or {},
        "values": values or {},
        "reason_min": REASON_MIN_LENGTH,
    }
    return render(request, "access.html", context, status_code=status_code, session=session)


@router.get("/access")
def access_page(
    request: Request,
    session: SessionDep,
    actor: SelfManager,
    case: Annotated[str | None, Query(max_length=32, pattern=r"^CV-\d{4}-\d{6,9}$")] = None,
) -> Response:
    """My access requests, a form to ask for one case, and break-glass for emergencies."""
    return _access_page(request, session, actor, values={"case": case or ""})


@router.post("/access/requests")
def request_access(
    request: Request,
    session: SessionDep,
    actor: GrantRequester,
    case: CaseNumberForm = "",
    reason: ReasonForm = "",
) -> Response:
    """Ask for time-limited access to one case; a supervisor of its queue (not you) approves."""
    values = {"case": case.strip(), "reason": reason}
    error = _reason_error(reason)
    try:
        body = GrantRequestIn(case=case, reason=reason)
    except ValidationError:
        error = error or "Enter a case number like CV-2026-000123."
    if error is not None:
        return _access_page(request, session, actor, errors={"request": error}, values=values, status_code=400)
    access_api.request_grant(body, session, actor)
    return _see_other("/access?requested=1")


@router.post("/access/requests/{grant_id}/withdraw")
def withdraw_request(grant_id: uuid.UUID, session: SessionDep, actor: GrantRequester) -> Response:
    """Withdraw my own request (or end an approved grant early)."""
    access_api.revoke_grant(grant_id, session, actor)
    return _see_other("/access")


@router.post("/access/break-glass")
def break_glass(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: GlassBreaker,
    case: CaseNumberForm = "",
    reason: ReasonForm = "",
    code: CodeForm = "",
) -> Response:
    """Open emergency access to one case: a reason and a fresh second factor; the security team is alerted."""
    values = {"glass_case": case.strip(), "glass_reason": reason}
    error = _reason_error(reason)
    try:
        body = BreakGlassIn(case=case, reason=reason)
    except ValidationError:
        error = error or "Enter a case number like CV-2026-000123."
    if error is not None:
        return _access_page(request, session, actor, errors={"glass": error}, values=values, status_code=400)
    stepped = step_up_fresh(request, session, actor, code)
    if stepped.needed or stepped.actor is None:
        error = stepped.error or "Confirm with the code from your authenticator app."
        page = _access_page(request, session, actor, errors={"glass": error}, values=values, status_code=401)
        return stepped.pass_cookies(page)
    started = access_api.start_break_glass(body, request, background, session, stepped.actor, stepped.actor)
    return stepped.pass_cookies(_see_other(f"/cases/{started.case}"))


# ------------------------------------------------------------------------------------------------ approvals


def _inbox(
    request: Request, session: SessionDep, actor: Actor, *, error: str | None = None, status_code: int = 200
) -> Response:
    pending = access_api.list_grants(session, actor, GrantListing.TO_APPROVE).items
    context: dict[str, Any] = {
        "actor": actor,
        "active": "inbox",
        "csrf_token": csrf_of(request),
        "grants": pending,
        "needs_code": not looks_fresh(request, actor),
        "passkeys": has_passkey(session, actor),
        "error": error,
        "ttl_minutes": int(get_runtime(request).settings.grant_ttl.total_seconds() // 60),
    }
    return render(request, "inbox.html", context, status_code=status_code, session=session)


@router.get("/access/inbox")
def inbox(request: Request, session: SessionDep, actor: GrantApprover) -> Response:
    """Pending requests in the queues I supervise, made by someone else."""
    return _inbox(request, session, actor)


@router.post("/access/inbox/{grant_id}/approve")
def approve(
    grant_id: uuid.UUID, request: Request, session: SessionDep, actor: GrantApprover, code: CodeForm = ""
) -> Response:
    """Approve after a fresh second factor; the grant expires after the configured time."""
    stepped = step_up_fresh(request, session, actor, code)
    if stepped.needed or stepped.actor is None:
        error = stepped.error or "Confirm with the code from your authenticator app to approve."
        return stepped.pass_cookies(_inbox(request, session, actor, error=error, status_code=401))
    access_api.approve_grant(grant_id, request, session, stepped.actor, stepped.actor)
    return stepped.pass_cookies(_see_other("/access/inbox?approved=1"))


@router.post("/access/inbox/{grant_id}/deny")
def deny(grant_id: uuid.UUID, session: SessionDep, actor: GrantApprover) -> Response:
    """Refuse a pending request (recorded as revoked by you)."""
    access_api.revoke_grant(grant_id, session, actor)
    return _see_other("/access/inbox")
