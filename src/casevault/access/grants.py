"""Just-in-time access grants: requested by an agent with a reason, approved by a different supervisor, expiring.

The Cedar policies decide who may request and approve (`grant:request`, `grant:approve`, and the
`guard.no-self-approval` forbid); this module keeps the rows, the expiry and the audit trail, and answers the
one question the access functions ask: which live grant or break-glass session covers this case for this person.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Final

import sqlalchemy as sa
from sqlalchemy import CompoundSelect, Select, or_, select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.decisions import Denied
from casevault.access.models import AccessGrant, BreakGlassSession, GrantStatus
from casevault.access.permissions import Permission
from casevault.access.policy import AccessGrantFacts, CaseFacts, RequestFacts, load_staff_facts, shared_engine
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.db.base import utcnow
from casevault.errors import Conflict, NotFound, PermissionDenied
from casevault.redaction import RedactionFailed, Redactor

__all__ = [
    "REASON_MIN_LENGTH",
    "Coverage",
    "GrantListing",
    "GrantView",
    "approve_grant",
    "case_ids_covered",
    "coverage_of",
    "grant_state",
    "list_grants",
    "reason_ok",
    "redact_reason",
    "request_grant",
    "revoke_grant",
    "staff_labels",
]

log = logging.getLogger("casevault.access")

# Long enough that "need it" or "ticket" is not a reason; short enough to type under pressure.
REASON_MIN_LENGTH: Final = 15
REASON_MAX_LENGTH: Final = 500
_WITHHELD: Final = "[WITHHELD: reason could not be redacted]"


class GrantListing(StrEnum):
    """Which grants to list: my own requests, or the pending ones I may approve."""

    MINE = "mine"
    TO_APPROVE = "to_approve"


@cache
def _reason_redactor() -> Redactor:
    return Redactor()


def redact_reason(reason: str) -> str:
    """A stored reason is shown to approvers and reviewers: it is kept redacted (typed placeholders), never clear."""
    try:
        text = _reason_redactor().redact(reason.strip()).text
    except RedactionFailed as exc:
        log.warning("reason redaction failed (recognizer %s); reason withheld", exc.recognizer)
        return _WITHHELD
    return text[:REASON_MAX_LENGTH]


def reason_ok(reason: str | None) -> bool:
    """A reason the policies accept (`context.reason`)."""
    return reason is not None and len(reason.strip()) >= REASON_MIN_LENGTH


@dataclass(frozen=True, slots=True)
class Coverage:
    """The live exception that lets a person reach a case outside its scope, if any (for `via` in the audit log)."""

    grant_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None

    @property
    def via(self) -> str | None:
        if self.grant_id is not None:
            return f"grant:{self.grant_id}"
        if self.break_glass_id is not None:
            return f"break-glass:{self.break_glass_id}"
        return None

    @property
    def context(self) -> RequestFacts:
        return RequestFacts(grant=self.grant_id is not None, break_glass=self.break_glass_id is not None)


def _live_grant(staff_id: uuid.UUID, now: datetime) -> Select[uuid.UUID, uuid.UUID]:
    return select(AccessGrant.id, AccessGrant.case_id).where(
        AccessGrant.requester_id == staff_id,
        AccessGrant.status == GrantStatus.APPROVED,
        AccessGrant.expires_at > now,
    )


def _live_break_glass(staff_id: uuid.UUID, now: datetime) -> Select[uuid.UUID, uuid.UUID]:
    return select(BreakGlassSession.id, BreakGlassSession.case_id).where(
        BreakGlassSession.staff_id == staff_id, BreakGlassSession.expires_at > now
    )


def coverage_of(
    session: Session,
    staff_id: uuid.UUID | None,
    *,
    case_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Coverage:
    """The live grant (preferred: it was approved by someone else) or break-glass session covering a case, or
    any case of a customer; an empty Coverage when none does."""
    if staff_id is None:
        return Coverage()
    moment = now or utcnow()
    grant_query = _live_grant(staff_id, moment)
    glass_query = _live_break_glass(staff_id, moment)
    if case_id is not None:
        grant_query = grant_query.where(AccessGrant.case_id == case_id)
        glass_query = glass_query.where(BreakGlassSession.case_id == case_id)
    if customer_id is not None:
        grant_query = grant_query.where(AccessGrant.customer_id == customer_id)
        glass_query = glass_query.where(BreakGlassSession.customer_id == customer_id)
    grant = session.execute(grant_query.order_by(AccessGrant.expires_at.desc()).limit(1)).first()
    if grant is not None:
        return Coverage(grant_id=grant.id)
    glass = session.execute(glass_query.order_by(BreakGlassSession.expires_at.desc()).limit(1)).first()
    return Coverage(break_glass_id=glass.id) if glass is not None else Coverage()


def case_ids_covered(
    staff_id: uuid.UUID | sa.BindParameter[uuid.UUID], now: datetime | sa.BindParameter[datetime] | None = None
) -> CompoundSelect[uuid.UUID]:
    """A sub-select of the case ids a live grant or break-glass session opens to `staff_id` (for list queries).

    `staff_id` and `now` may be bind parameters, for a statement built once and run with them.
    """
    moment = utcnow() if now is None else now
    return (
        select(AccessGrant.case_id)
        .where(
            AccessGrant.requester_id == staff_id,
            AccessGrant.status == GrantStatus.APPROVED,
            AccessGrant.expires_at > moment,
        )
        .union(
            select(BreakGlassSession.case_id).where(
                BreakGlassSession.staff_id == staff_id, BreakGlassSession.expires_at > moment
            )
        )
    )


def grant_state(grant: AccessGrant, now: datetime | None = None) -> str:
    """pending, approved, revoked or expired (an approved grant past its expiry)."""
    if grant.status == GrantStatus.APPROVED and grant.expires_at is not None and grant.expires_at <= (now or utcnow()):
        return "expired"
    return str(grant.status)


@dataclass(frozen=True, slots=True)
class GrantView:
    """A grant as listed to its requester or approvers."""

    grant: AccessGrant
    state: str


def _audit_denied(session: Session, actor: Actor, action: AuditAction, target_id: str, reason: str) -> None:
    record(
        session,
        actor=actor,
        action=action,
        outcome=Outcome.DENIED,
        target_type="access_grant",
        target_id=target_id,
        reason=reason,
    )


def request_grant(
    session: Session,
    case: CaseFacts,
    *,
    case_number: str,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
) -> AccessGrant:
    """File a pending request for one case; the Cedar `grant:request` policy decides who may ask."""
    facts = load_staff_facts(session, actor)
    context = RequestFacts(reason=reason_ok(reason))
    decision = (
        Denied(reason="policy:not-staff")
        if facts is None
        else shared_engine().authorize(facts, Permission.GRANT_REQUEST, case, context)
    )
    if isinstance(decision, Denied) or actor.staff_id is None:
        _audit_denied(session, actor, AuditAction.GRANT_REQUESTED, case_number, str(getattr(decision, "reason", "")))
        raise PermissionDenied()
    grant = AccessGrant(
        id=uuid.uuid4(),
        requester_id=actor.staff_id,
        case_id=case.case_id,
        case_number=case_number,
        queue_id=case.queue_id,
        customer_id=case.customer_id,
        reason_redacted=redact_reason(reason),
        reason_length=len(reason.strip()),
        status=GrantStatus.PENDING,
        requested_at=now or utcnow(),
    )
    session.add(grant)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.GRANT_REQUESTED,
        target_type="access_grant",
        target_id=str(grant.id),
        detail={"case": case_number, "reason_length": grant.reason_length},
    )
    return grant


def _grant(session: Session, grant_id: uuid.UUID, actor: Actor, action: AuditAction) -> AccessGrant:
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        _audit_denied(session, actor, action, str(grant_id), "no such grant")
        raise NotFound()
    return grant


def _may_approve(session: Session, actor: Actor, grant: AccessGrant, *, stepped_up: bool) -> Denied | None:
    facts = load_staff_facts(session, actor)
    if facts is None:
        return Denied(reason="policy:not-staff")
    resource = AccessGrantFacts(grant_id=grant.id, requester_id=grant.requester_id, queue_id=grant.queue_id)
    decision = shared_engine().authorize(facts, Permission.GRANT_APPROVE, resource, RequestFacts(step_up=stepped_up))
    return decision if isinstance(decision, Denied) else None


def approve_grant(
    session: Session,
    grant_id: uuid.UUID,
    *,
    ttl: timedelta,
    actor: Actor,
    stepped_up: bool,
    now: datetime | None = None,
) -> AccessGrant:
    """Approve a pending request: a supervisor of the case's queue who is not the requester (403 otherwise)."""
    grant = _grant(session, grant_id, actor, AuditAction.GRANT_APPROVED)
    denied = _may_approve(session, actor, grant, stepped_up=stepped_up)
    if denied is not None:
        _audit_denied(session, actor, AuditAction.GRANT_APPROVED, str(grant.id), denied.reason)
        raise PermissionDenied()
    if grant.status != GrantStatus.PENDING:
        raise Conflict(f"the grant is {grant.status}, not pending")
    moment = now or utcnow()
    grant.status = GrantStatus.APPROVED
    grant.approver_id = actor.staff_id
    grant.approved_at = moment
    expires_at = moment + ttl
    grant.expires_at = expires_at
    record(
        session,
        actor=actor,
        action=AuditAction.GRANT_APPROVED,
        target_type="access_grant",
        target_id=str(grant.id),
        detail={"case": grant.case_number, "requester": str(grant.requester_id), "expires_at": expires_at.isoformat()},
    )
    return grant


def revoke_grant(session: Session, grant_id: uuid.UUID, *, actor: Actor, now: datetime | None = None) -> AccessGrant:
    """Withdraw (the requester) or revoke (a supervisor who could approve it) a pending or approved grant."""
    grant = _grant(session, grant_id, actor, AuditAction.GRANT_REVOKED)
    own = actor.staff_id is not None and actor.staff_id == grant.requester_id
    if not own:
        denied = _may_approve(session, actor, grant, stepped_up=False)
        if denied is not None:
            _audit_denied(session, actor, AuditAction.GRANT_REVOKED, str(grant.id), denied.reason)
            raise NotFound()
    if grant.status == GrantStatus.REVOKED:
        raise Conflict("the grant is already revoked")
    grant.status = GrantStatus.REVOKED
    grant.revoked_by_id = actor.staff_id
    grant.revoked_at = now or utcnow()
    record(
        session,
        actor=actor,
        action=AuditAction.GRANT_REVOKED,
        target_type="access_grant",
        target_id=str(grant.id),
        detail={"case": grant.case_number, "by_requester": own},
    )
    return grant


def list_grants(
    session: Session, *, listing: GrantListing, actor: Actor, limit: int = 50, now: datetime | None = None
) -> list[GrantView]:
    """My requests (newest first), or the pending requests in queues I supervise that someone else made."""
    if actor.staff_id is None:
        return []
    query = select(AccessGrant)
    if listing == GrantListing.MINE:
        query = query.where(AccessGrant.requester_id == actor.staff_id)
    else:
        facts = load_staff_facts(session, actor)
        if facts is None or not facts.supervises:
            return []
        query = query.where(
            AccessGrant.status == GrantStatus.PENDING,
            AccessGrant.requester_id != actor.staff_id,
            or_(*(AccessGrant.queue_id == queue for queue in sorted(facts.supervises))),
        )
    rows = session.scalars(query.order_by(AccessGrant.requested_at.desc(), AccessGrant.id).limit(limit)).all()
    moment = now or utcnow()
    return [GrantView(grant=row, state=grant_state(row, moment)) for row in rows]


_staff = sa.table("staff", sa.column("id", sa.Uuid()), sa.column("username", sa.String()))


def staff_labels(session: Session, staff_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Usernames for the staff ids in listed grants and break-glass sessions (one query)."""
    wanted = {staff_id for staff_id in staff_ids if staff_id is not None}
    if not wanted:
        return {}
    rows = session.execute(sa.select(_staff.c.id, _staff.c.username).where(_staff.c.id.in_(wanted))).all()
    return {row.id: row.username for row in rows}
