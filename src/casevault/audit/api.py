"""Security-officer routes under /api/v1/audit; reading or verifying the trail is itself audited."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.api.deps import Runtime, SessionDep, UnitOfWorkRoute, get_runtime, require
from casevault.audit.checkpoints import Ed25519Signer
from casevault.audit.events import AuditAction
from casevault.audit.schemas import AuditEventOut, AuditEventPage, AuditSubjectOut, VerifyOut
from casevault.audit.search import EventFilter, InvalidCursor, decode_cursor, encode_cursor, search_events
from casevault.audit.trail import record
from casevault.audit.verify import verify
from casevault.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"], route_class=UnitOfWorkRoute)

AuditReader = Annotated[Actor, require(Permission.AUDIT_READ)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.get("/events")
def list_events(
    session: SessionDep,
    actor: AuditReader,
    actor_filter: Annotated[
        str | None, Query(alias="actor", max_length=64, description="staff id or actor label")
    ] = None,
    action: AuditAction | None = None,
    customer_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditEventPage:
    """Audit events, newest first, filtered by actor, action, customer and time; cursor-paginated."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} must include a time zone")
    try:
        before = decode_cursor(cursor) if cursor is not None else None
    except InvalidCursor as exc:
        raise InvalidInput("cursor is not valid") from exc
    filters = EventFilter(actor=actor_filter, action=action, customer_id=customer_id, since=since, until=until)
    page = search_events(session, filters, before=before, limit=limit)
    seqs = [event.seq for event, _ in page.events]
    record(
        session,
        actor=actor,
        action=AuditAction.AUDIT_QUERIED,
        target_type="audit_events",
        detail={
            "filters": {
                "actor": actor_filter,
                "action": str(action) if action else None,
                "customer_id": str(customer_id) if customer_id else None,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "before": before,
            },
            "returned": len(seqs),
            "seq_range": [min(seqs), max(seqs)] if seqs else None,
        },
    )
    return AuditEventPage(
        events=[
            AuditEventOut(
                seq=event.seq,
                occurred_at=event.occurred_at,
                actor_id=event.actor_id,
                actor_label=event.actor_label,
                session_ref=event.session_ref,
                ip_prefix=event.ip_prefix,
                action=event.action,
                outcome=event.outcome,
                reason=event.reason,
                target_type=event.target_type,
                target_id=event.target_id,
                fields=list(event.fields),
                detail=dict(event.detail),
                subjects=[
                    AuditSubjectOut(customer_id=s.customer_id, case_id=s.case_id, exposure=s.exposure) for s in subjects
                ],
                prev_hash=event.prev_hash.hex(),
                hash=event.hash.hex(),
            )
            for event, subjects in page.events
        ],
        next_cursor=encode_cursor(page.next_before) if page.next_before is not None else None,
    )


@router.get("/verify")
def verify_chain(session: SessionDep, runtime: RuntimeDep, actor: AuditReader) -> VerifyOut:
    """Recompute every hash and check every signed checkpoint; the outcome is recorded in the trail."""
    signer = Ed25519Signer.from_provider(runtime.keyring.provider)
    report = verify(runtime.db.engine, keys=[signer.public_key])
    record(
        session,
        actor=actor,
        action=AuditAction.AUDIT_VERIFIED,
        target_type="audit_events",
        detail={
            "ok": report.ok,
            "events_checked": report.events_checked,
            "problem": str(report.problem) if report.problem else None,
            "first_bad_seq": report.first_bad_seq,
        },
    )
    return VerifyOut(**report.as_dict())
