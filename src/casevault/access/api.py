"""HTTP routes for just-in-time grants and break-glass (mounted under /api/v1/access).

Every route declares its permission; approving a grant and breaking the glass also need a session stepped up
within the window (API tokens never qualify). Reveal lives with the case routes (`POST /cases/{number}/reveal`).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from sqlalchemy.orm import Session

from casevault.access import break_glass, grants
from casevault.access.actor import Actor
from casevault.access.grants import GrantListing, GrantView
from casevault.access.models import BreakGlassSession
from casevault.access.permissions import Permission
from casevault.access.schemas import (
    BreakGlassIn,
    BreakGlassList,
    BreakGlassOut,
    GrantList,
    GrantOut,
    GrantRequestIn,
    ReviewIn,
)
from casevault.api.deps import SessionDep, StepUpDep, UnitOfWorkRoute, get_runtime, require
from casevault.audit.events import AuditAction
from casevault.cases import access
from casevault.detection.models import AlertKind, Severity
from casevault.detection.services import raise_alert

__all__ = ["router"]

router = APIRouter(prefix="/access", tags=["access"], route_class=UnitOfWorkRoute)

GrantRequester = Annotated[Actor, require(Permission.GRANT_REQUEST)]
GrantApprover = Annotated[Actor, require(Permission.GRANT_APPROVE)]
GlassBreaker = Annotated[Actor, require(Permission.BREAK_GLASS)]
Reviewer = Annotated[Actor, require(Permission.ALERT_READ)]


# ------------------------------------------------------------------------------------------------ grants


@router.post("/grants", status_code=201)
def request_grant(body: GrantRequestIn, session: SessionDep, actor: GrantRequester) -> GrantOut:
    """Ask for time-limited access to a case outside your scope; a different supervisor of its queue approves."""
    case = access.case_facts_for_request(session, actor, body.case, action=AuditAction.GRANT_REQUESTED)
    grant = grants.request_grant(session, case, case_number=body.case, reason=body.reason, actor=actor)
    return _grant_outs(session, [GrantView(grant=grant, state=grants.grant_state(grant))])[0]


@router.get("/grants")
def list_grants(
    session: SessionDep,
    actor: GrantRequester,
    view: Annotated[GrantListing, Query(description="`mine` or `to_approve`")] = GrantListing.MINE,
) -> GrantList:
    """Your own requests, or the pending requests in the queues you supervise."""
    return GrantList(items=_grant_outs(session, grants.list_grants(session, listing=view, actor=actor)))


@router.post("/grants/{grant_id}/approve")
def approve_grant(
    grant_id: uuid.UUID, request: Request, session: SessionDep, actor: GrantApprover, _fresh: StepUpDep
) -> GrantOut:
    """Approve a pending request in a queue you supervise (never your own); it expires after `grant_ttl`."""
    ttl = get_runtime(request).settings.grant_ttl
    grant = grants.approve_grant(session, grant_id, ttl=ttl, actor=actor, stepped_up=True)
    return _grant_outs(session, [GrantView(grant=grant, state=grants.grant_state(grant))])[0]


@router.post("/grants/{grant_id}/revoke")
def revoke_grant(grant_id: uuid.UUID, session: SessionDep, actor: GrantRequester) -> GrantOut:
    """Withdraw your own request, or revoke one in a queue you supervise; access ends at once."""
    grant = grants.revoke_grant(session, grant_id, actor=actor)
    return _grant_outs(session, [GrantView(grant=grant, state=grants.grant_state(grant))])[0]


def _grant_outs(session: Session, views: list[GrantView]) -> list[GrantOut]:
    names = grants.staff_labels(session, [id_ for v in views for id_ in (v.grant.requester_id, v.grant.approver_id)])
    return [
        GrantOut(
            id=view.grant.id,
            case=view.grant.case_number,
            requester=names.get(view.grant.requester_id, ""),
            state=view.state,
            reason=view.grant.reason_redacted,
            requested_at=view.grant.requested_at,
            approved_by=names.get(view.grant.approver_id) if view.grant.approver_id else None,
            approved_at=view.grant.approved_at,
            expires_at=view.grant.expires_at,
            revoked_at=view.grant.revoked_at,
        )
        for view in views
    ]


# ------------------------------------------------------------------------------------------------ break-glass


@router.post("/break-glass", status_code=201)
def start_break_glass(
    body: BreakGlassIn,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    actor: GlassBreaker,
    _fresh: StepUpDep,
) -> BreakGlassOut:
    """Open emergency access to one case for `break_glass_ttl`; the security team is alerted at once."""
    settings = get_runtime(request).settings
    case = access.case_facts_for_request(session, actor, body.case, action=AuditAction.BREAK_GLASS_STARTED)
    row = break_glass.start_break_glass(
        session,
        case,
        case_number=body.case,
        reason=body.reason,
        ttl=settings.break_glass_ttl,
        actor=actor,
        stepped_up=True,
    )
    summary = {
        "break_glass": str(row.id),
        "case": row.case_number,
        "staff": actor.username,
        "expires_at": row.expires_at.isoformat(),
    }
    alert = raise_alert(
        session,
        kind=AlertKind.BREAK_GLASS_STARTED,
        severity=Severity.HIGH,
        actor=actor,
        subject_staff_id=actor.staff_id,
        detail=summary,
    )
    row.alert_id = alert.id
    if settings.break_glass_webhook_url is not None:
        # After the response, so the alert is committed first and a slow receiver never delays the emergency.
        background.add_task(
            break_glass.notify_webhook,
            settings.break_glass_webhook_url.get_secret_value(),
            {"event": "break_glass.started", "alert": str(alert.id), **summary},
            timeout=settings.break_glass_webhook_timeout,
        )
    return _glass_outs(session, [row])[0]


@router.get("/break-glass")
def list_break_glass(
    session: SessionDep,
    actor: Reviewer,
    unreviewed: Annotated[bool, Query(description="only sessions still waiting for review")] = False,
) -> BreakGlassList:
    """Break-glass sessions, newest first (security officers)."""
    return BreakGlassList(items=_glass_outs(session, break_glass.list_break_glass(session, unreviewed=unreviewed)))


@router.post("/break-glass/{break_glass_id}/review")
def review_break_glass(
    break_glass_id: uuid.UUID, body: ReviewIn, session: SessionDep, actor: Reviewer
) -> BreakGlassOut:
    """Record the review of someone else's break-glass session."""
    row = break_glass.review_break_glass(session, break_glass_id, note=body.note, actor=actor)
    return _glass_outs(session, [row])[0]


def _glass_outs(session: Session, rows: list[BreakGlassSession]) -> list[BreakGlassOut]:
    names = grants.staff_labels(session, [id_ for row in rows for id_ in (row.staff_id, row.reviewer_id)])
    return [
        BreakGlassOut(
            id=row.id,
            case=row.case_number,
            staff=names.get(row.staff_id, ""),
            reason=row.reason_redacted,
            started_at=row.started_at,
            expires_at=row.expires_at,
            alert_id=row.alert_id,
            reviewed_by=names.get(row.reviewer_id) if row.reviewer_id else None,
            reviewed_at=row.reviewed_at,
            review_note=row.review_note_redacted,
        )
        for row in rows
    ]
