"""Incident services: resolve who is investigated, run and audit a blast radius, record and re-verify incidents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.grants import redact_reason
from casevault.audit.events import AuditAction
from casevault.audit.models import AuditEvent
from casevault.audit.trail import chain_head, record
from casevault.db.base import utcnow
from casevault.errors import InvalidInput, NotFound
from casevault.identity.models import ApiToken, Staff, StaffSession
from casevault.incident.blast_radius import BlastModel, BlastQuery, BlastRadiusReport, compute_blast_radius
from casevault.incident.models import Incident, IncidentKind

__all__ = [
    "IncidentVerification",
    "UnknownAccount",
    "UnknownIncident",
    "UnknownSession",
    "build_query",
    "get_incident",
    "list_incidents",
    "query_of",
    "record_incident",
    "resolve_staff",
    "run_blast_radius",
    "verify_incident",
]

MAX_SESSIONS = 50


class UnknownAccount(NotFound):
    """No staff account has that username or id."""

    public_message = "unknown staff account"


class UnknownSession(NotFound):
    """The session reference never appears for that account (and is no session or token of it)."""

    public_message = "unknown session for this account"


class UnknownIncident(NotFound):
    """No incident has that id."""

    public_message = "unknown incident"


def resolve_staff(session: Session, who: str) -> Staff:
    """The staff account named by username or id; UnknownAccount otherwise."""
    name = who.strip()
    if not name or len(name) > 64:
        raise UnknownAccount()
    try:
        staff_id = uuid.UUID(name)
    except ValueError:
        staff = session.scalars(select(Staff).where(Staff.username == name)).one_or_none()
    else:
        staff = session.get(Staff, staff_id)
    if staff is None:
        raise UnknownAccount()
    return staff


def _resolve_session_ref(session: Session, staff: Staff, ref: str) -> str:
    """The audit `session_ref` for `ref`: the ref itself, or a session/token id of the account turned into one."""
    ref = ref.strip()
    if not ref or len(ref) > 64:
        raise UnknownSession()
    seen = session.execute(
        select(AuditEvent.seq).where(AuditEvent.session_ref == ref, AuditEvent.actor_id == staff.id).limit(1)
    ).first()
    if seen is not None:
        return ref
    try:
        row_id = uuid.UUID(ref.partition(":")[2] or ref)
    except ValueError:
        raise UnknownSession() from None
    signed_in = session.get(StaffSession, row_id)
    if signed_in is not None and signed_in.staff_id == staff.id:
        return f"session:{row_id.hex[:16]}"
    token = session.get(ApiToken, row_id)
    if token is not None and token.staff_id == staff.id:
        return f"token:{row_id.hex[:16]}"
    raise UnknownSession()


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} must include a time zone")
    return value


def build_query(
    session: Session,
    *,
    actor_name: str,
    model: BlastModel = BlastModel.ACCOUNT,
    sessions: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    head_seq: int | None = None,
    now: datetime | None = None,
) -> BlastQuery:
    """Validate and resolve the parameters; `until` defaults to now and the head to the current chain head."""
    since, until = _aware("since", since), _aware("until", until)
    end = until if until is not None else (now or utcnow())
    if since is not None and since > end:
        raise InvalidInput("since must not be after until")
    if len(sessions) > MAX_SESSIONS:
        raise InvalidInput(f"at most {MAX_SESSIONS} sessions")
    if model is BlastModel.SESSION and not sessions:
        raise InvalidInput("the session model needs at least one session")
    staff = resolve_staff(session, actor_name)
    refs = tuple(sorted({_resolve_session_ref(session, staff, ref) for ref in sessions}))
    head = chain_head(session)
    if head_seq is not None:
        head_hash_row = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == head_seq)).scalar_one_or_none()
        if head_hash_row is None:
            raise InvalidInput("the recorded chain head no longer exists")
        head_at, head_hash = head_seq, bytes(head_hash_row)
    else:
        head_at, head_hash = head.seq, head.hash
    return BlastQuery(
        staff_id=staff.id,
        username=staff.username,
        model=model,
        sessions=refs,
        since=since,
        until=end,
        head_seq=head_at,
        head_hash=head_hash,
    )


def run_blast_radius(
    session: Session,
    query: BlastQuery,
    *,
    actor: Actor,
    keys: Iterable[Ed25519PublicKey] | None = None,
) -> BlastRadiusReport:
    """Compute the report and audit that `actor` ran it (parameters and counts only)."""
    report = compute_blast_radius(session, query, keys=keys)
    record(
        session,
        actor=actor,
        action=AuditAction.AUDIT_QUERIED,
        target_type="blast_radius",
        target_id=str(query.staff_id),
        detail={
            "query": query.as_dict(),
            "customers_affected": len(report.customers),
            "chain_ok": report.chain.ok,
        },
    )
    return report


def record_incident(
    session: Session,
    report: BlastRadiusReport,
    *,
    reason: str,
    actor: Actor,
    kind: IncidentKind = IncidentKind.REPORT,
    contained_at: datetime | None = None,
) -> Incident:
    """Store the report's parameters, chain head and digest as an incident, and audit it.

    The reason is kept redacted and the audit row holds only its length (docs/adr/0563-…): officers type customer
    details into reasons under pressure.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason is required")
    query = report.query
    incident = Incident(
        kind=kind,
        created_at=utcnow(),
        created_by_id=actor.staff_id,
        created_by_label=actor.username[:64],
        reason=redact_reason(reason)[:200],
        subject_staff_id=query.staff_id,
        subject_username=query.username,
        model=str(query.model),
        sessions=list(query.sessions),
        window_since=query.since,
        window_until=query.until,
        head_seq=query.head_seq,
        head_hash=query.head_hash,
        checkpoint_seq=report.checkpoint_seq,
        chain_ok=report.chain.ok,
        chain_message=report.chain.message[:200] if report.chain.checked else None,
        report_digest=report.digest,
        customers_affected=len(report.customers),
        customers_revealed=report.revealed_count,
        summary=report.summary[:1000],
        contained_at=contained_at,
    )
    session.add(incident)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.INCIDENT_RECORDED,
        target_type="incident",
        target_id=str(incident.id),
        detail={
            "kind": str(kind),
            "reason_length": len(reason),
            "query": query.as_dict(),
            "digest": report.digest.hex(),
            "customers_affected": incident.customers_affected,
            "customers_revealed": incident.customers_revealed,
        },
    )
    return incident


def get_incident(session: Session, incident_id: uuid.UUID | str) -> Incident:
    """The incident with that id; UnknownIncident otherwise."""
    try:
        key = incident_id if isinstance(incident_id, uuid.UUID) else uuid.UUID(str(incident_id).strip())
    except ValueError:
        raise UnknownIncident() from None
    incident = session.get(Incident, key)
    if incident is None:
        raise UnknownIncident()
    return incident


def list_incidents(session: Session, *, limit: int = 50, offset: int = 0) -> list[Incident]:
    """Recorded incidents, newest first (reports and containments alike)."""
    statement = select(Incident).order_by(Incident.created_at.desc(), Incident.id).limit(limit).offset(offset)
    return list(session.scalars(statement))


def query_of(session: Session, incident: Incident) -> BlastQuery:
    """The exact query an incident recorded (same window, sessions, model and chain head)."""
    return BlastQuery(
        staff_id=incident.subject_staff_id,
        username=incident.subject_username,
        model=BlastModel(incident.model),
        sessions=tuple(incident.sessions),
        since=incident.window_since,
        until=incident.window_until,
        head_seq=incident.head_seq,
        head_hash=bytes(incident.head_hash),
    )


@dataclass(frozen=True)
class IncidentVerification:
    """Recomputing an incident: same digest, same event at the recorded head, and what verify() says now."""

    incident_id: uuid.UUID
    digest_matches: bool
    head_intact: bool
    recorded_digest: str
    recomputed: BlastRadiusReport

    @property
    def ok(self) -> bool:
        return self.digest_matches and self.head_intact and not self.recomputed.chain.broken

    def as_dict(self) -> dict[str, object]:
        return {
            "incident_id": str(self.incident_id),
            "ok": self.ok,
            "digest_matches": self.digest_matches,
            "head_intact": self.head_intact,
            "recorded_digest": self.recorded_digest,
            "recomputed_digest": self.recomputed.digest.hex(),
            "chain": self.recomputed.chain.as_dict(),
            "summary": self.recomputed.summary,
        }


def verify_incident(
    session: Session,
    incident: Incident,
    *,
    actor: Actor,
    keys: Iterable[Ed25519PublicKey] | None = None,
) -> IncidentVerification:
    """Recompute the recorded report against the recorded head and compare; audited, never raises on mismatch."""
    query = query_of(session, incident)
    stored = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == incident.head_seq)).scalar_one_or_none()
    head_intact = stored is not None and bytes(stored) == bytes(incident.head_hash)
    recomputed = compute_blast_radius(session, query, keys=keys)
    result = IncidentVerification(
        incident_id=incident.id,
        digest_matches=recomputed.digest == bytes(incident.report_digest),
        head_intact=head_intact,
        recorded_digest=bytes(incident.report_digest).hex(),
        recomputed=recomputed,
    )
    record(
        session,
        actor=actor,
        action=AuditAction.AUDIT_VERIFIED,
        target_type="incident",
        target_id=str(incident.id),
        detail={
            "digest_matches": result.digest_matches,
            "head_intact": head_intact,
            "chain_ok": recomputed.chain.ok,
        },
    )
    return result
