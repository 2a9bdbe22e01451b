"""Break-glass: self-granted, short-lived access to one case with a reason and a fresh second factor.

Starting one is never silent: the caller raises a high-severity alert in the same transaction and may notify an
outside webhook; every read under it is marked in the audit log, and a different security officer must review it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.decisions import Denied
from casevault.access.grants import reason_ok, redact_reason
from casevault.access.models import BreakGlassSession
from casevault.access.permissions import Permission
from casevault.access.policy import CaseFacts, RequestFacts, load_staff_facts, shared_engine
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.db.base import utcnow
from casevault.errors import Conflict, NotFound, PermissionDenied

__all__ = ["active_break_glass", "list_break_glass", "notify_webhook", "review_break_glass", "start_break_glass"]

log = logging.getLogger("casevault.access")


def start_break_glass(
    session: Session,
    case: CaseFacts,
    *,
    case_number: str,
    reason: str,
    ttl: timedelta,
    actor: Actor,
    stepped_up: bool,
    now: datetime | None = None,
) -> BreakGlassSession:
    """Open emergency access to one case for `ttl`; the Cedar `break_glass:start` policy needs step-up and reason."""
    facts = load_staff_facts(session, actor)
    context = RequestFacts(step_up=stepped_up, reason=reason_ok(reason))
    decision = (
        Denied(reason="policy:not-staff")
        if facts is None
        else shared_engine().authorize(facts, Permission.BREAK_GLASS, case, context)
    )
    if isinstance(decision, Denied) or actor.staff_id is None:
        record(
            session,
            actor=actor,
            action=AuditAction.BREAK_GLASS_STARTED,
            outcome=Outcome.DENIED,
            target_type="case",
            target_id=case_number,
            reason=getattr(decision, "reason", "not staff"),
        )
        raise PermissionDenied()
    moment = now or utcnow()
    row = BreakGlassSession(
        id=uuid.uuid4(),
        staff_id=actor.staff_id,
        case_id=case.case_id,
        case_number=case_number,
        queue_id=case.queue_id,
        customer_id=case.customer_id,
        reason_redacted=redact_reason(reason),
        reason_length=len(reason.strip()),
        started_at=moment,
        expires_at=moment + ttl,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.BREAK_GLASS_STARTED,
        target_type="break_glass",
        target_id=str(row.id),
        detail={
            "case": case_number,
            "reason_length": row.reason_length,
            "expires_at": row.expires_at.isoformat(),
            "break_glass": True,
        },
    )
    return row


def review_break_glass(
    session: Session, break_glass_id: uuid.UUID, *, note: str, actor: Actor, now: datetime | None = None
) -> BreakGlassSession:
    """Close the loop: a security officer other than the person who broke the glass records a review."""
    row = session.get(BreakGlassSession, break_glass_id)
    if row is None or actor.role != Role.SECURITY_OFFICER or actor.staff_id is None:
        record(
            session,
            actor=actor,
            action=AuditAction.BREAK_GLASS_REVIEWED,
            outcome=Outcome.DENIED,
            target_type="break_glass",
            target_id=str(break_glass_id),
            reason="no such break-glass session" if row is None else "only security officers review",
        )
        raise NotFound()
    if row.staff_id == actor.staff_id:
        record(
            session,
            actor=actor,
            action=AuditAction.BREAK_GLASS_REVIEWED,
            outcome=Outcome.DENIED,
            target_type="break_glass",
            target_id=str(row.id),
            reason="nobody reviews their own break-glass",
        )
        raise PermissionDenied()
    if row.reviewed_at is not None:
        raise Conflict("this break-glass session is already reviewed")
    row.reviewer_id = actor.staff_id
    row.reviewed_at = now or utcnow()
    row.review_note_redacted = redact_reason(note)
    record(
        session,
        actor=actor,
        action=AuditAction.BREAK_GLASS_REVIEWED,
        target_type="break_glass",
        target_id=str(row.id),
        detail={"case": row.case_number, "staff": str(row.staff_id), "note_length": len(note.strip())},
    )
    return row


def list_break_glass(session: Session, *, unreviewed: bool, limit: int = 100) -> list[BreakGlassSession]:
    """Break-glass sessions, newest first; `unreviewed` keeps only those still waiting for review."""
    query = select(BreakGlassSession)
    if unreviewed:
        query = query.where(BreakGlassSession.reviewed_at.is_(None))
    return list(session.scalars(query.order_by(BreakGlassSession.started_at.desc()).limit(limit)).all())


def active_break_glass(
    session: Session, staff_id: uuid.UUID, *, now: datetime | None = None
) -> list[BreakGlassSession]:
    """The staff member's break-glass sessions that have not expired yet (the console shows a banner for each)."""
    query = select(BreakGlassSession).where(
        BreakGlassSession.staff_id == staff_id, BreakGlassSession.expires_at > (now or utcnow())
    )
    return list(session.scalars(query.order_by(BreakGlassSession.expires_at)).all())


def notify_webhook(url: str, payload: dict[str, Any], *, timeout: float) -> bool:
    """POST `payload` (references only) to the configured webhook; never follows redirects, never raises.

    A failure must not block access in an emergency, so it is logged (status or error class, no payload) and
    the alert row stays the record of truth.
    """
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        log.warning("break-glass webhook failed: %s", type(exc).__name__)
        return False
    if not response.is_success:
        log.warning("break-glass webhook answered HTTP %s", response.status_code)
        return False
    return True
