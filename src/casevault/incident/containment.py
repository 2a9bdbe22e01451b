"""Containment in one step: suspend the account, kill its sessions and tokens, force MFA re-enrolment, record it.

Uses the identity services (revoke_all_sessions, reset_mfa, revoke_token), so each step writes its own audit
event and the MFA reset raises its usual alert; the blast radius at that moment is stored as the incident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.audit.events import AuditAction
from casevault.audit.trail import record
from casevault.db.base import utcnow
from casevault.errors import InvalidInput
from casevault.identity.models import ApiToken, StaffStatus
from casevault.identity.services import reset_mfa, revoke_all_sessions
from casevault.identity.tokens import revoke_token
from casevault.incident.blast_radius import BlastRadiusReport, compute_blast_radius
from casevault.incident.models import Incident, IncidentKind
from casevault.incident.services import build_query, record_incident, resolve_staff

__all__ = ["ContainmentResult", "contain_account"]


@dataclass(frozen=True)
class ContainmentResult:
    """What containment did, and the incident (with the blast radius at that moment) it recorded."""

    incident: Incident
    report: BlastRadiusReport
    already_suspended: bool
    sessions_revoked: int
    tokens_revoked: int

    def as_dict(self) -> dict[str, object]:
        return {
            "incident_id": str(self.incident.id),
            "account": self.report.query.username,
            "already_suspended": self.already_suspended,
            "sessions_revoked": self.sessions_revoked,
            "tokens_revoked": self.tokens_revoked,
            "mfa_reenrolment_required": True,
            "customers_affected": len(self.report.customers),
            "customers_revealed": self.report.revealed_count,
            "summary": self.report.summary,
        }


def contain_account(
    session: Session,
    *,
    account: str,
    reason: str,
    actor: Actor,
    since: datetime | None = None,
    keys: Iterable[Ed25519PublicKey] | None = None,
    now: datetime | None = None,
) -> ContainmentResult:
    """Suspend `account`, revoke its sessions and API tokens, reset its second factors and record the incident.

    The account's blast radius (account model, from `since` to now) is computed before anything changes and kept
    with the incident. Everything happens in the caller's transaction: all of it or none.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason is required")
    moment = now or utcnow()
    staff = resolve_staff(session, account)
    if actor.staff_id is not None and actor.staff_id == staff.id:
        raise InvalidInput("you cannot contain your own account; ask another security officer")
    query = build_query(session, actor_name=str(staff.id), since=since, until=moment)
    report = compute_blast_radius(session, query, keys=keys)

    already = staff.status == StaffStatus.SUSPENDED
    staff.status = StaffStatus.SUSPENDED
    record(
        session,
        actor=actor,
        action=AuditAction.STAFF_SUSPENDED,
        target_type="staff",
        target_id=str(staff.id),
        reason="incident containment",
        detail={"already_suspended": already, "via": "incident.contain", "reason_length": len(reason)},
    )
    sessions_revoked = revoke_all_sessions(session, staff, actor=actor, reason="incident containment", now=moment)
    live_tokens = session.scalars(
        select(ApiToken.id).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token_id in live_tokens:
        revoke_token(session, token_id, now=moment)
        record(
            session,
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            target_type="token",
            target_id=str(token_id),
            reason="incident containment",
        )
    # Removing every factor means the next sign-in (after reactivation) must enrol again.
    reset_mfa(session, staff, actor=actor, reason="incident containment", now=moment)
    incident = record_incident(
        session, report, reason=reason, actor=actor, kind=IncidentKind.CONTAINMENT, contained_at=moment
    )
    return ContainmentResult(
        incident=incident,
        report=report,
        already_suspended=already,
        sessions_revoked=sessions_revoked,
        tokens_revoked=len(live_tokens),
    )
