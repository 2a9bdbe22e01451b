"""Security-officer routes under /api/v1/incidents: blast radius, incident records, containment, notifications."""

from __future__ import annotations

import uuid
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, Query, Response

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.api.deps import Runtime, SessionDep, StepUpDep, UnitOfWorkRoute, get_runtime, require
from casevault.audit.checkpoints import Ed25519Signer
from casevault.incident.blast_radius import BlastRadiusReport
from casevault.incident.containment import contain_account
from casevault.incident.models import Incident
from casevault.incident.notifications import ExportFormat, export_notifications, render
from casevault.incident.schemas import (
    BlastRadiusOut,
    BlastRadiusRequest,
    ContainOut,
    ContainRequest,
    ExportRequest,
    IncidentOut,
    IncidentRequest,
    IncidentVerifyOut,
)
from casevault.incident.services import (
    build_query,
    get_incident,
    list_incidents,
    record_incident,
    run_blast_radius,
    verify_incident,
)

__all__ = ["router"]

router = APIRouter(prefix="/incidents", tags=["incidents"], route_class=UnitOfWorkRoute)

IncidentManager = Annotated[Actor, require(Permission.INCIDENT_MANAGE)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _keys(runtime: Runtime) -> list[Ed25519PublicKey]:
    return [Ed25519Signer.from_provider(runtime.keyring.provider).public_key]


def _report_out(report: BlastRadiusReport) -> BlastRadiusOut:
    return BlastRadiusOut.model_validate(report.as_dict())


def _incident_out(incident: Incident) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        kind=str(incident.kind),
        created_at=incident.created_at,
        created_by=incident.created_by_label,
        reason=incident.reason,
        account=incident.subject_username,
        staff_id=incident.subject_staff_id,
        model=incident.model,
        sessions=list(incident.sessions),
        since=incident.window_since,
        until=incident.window_until,
        head_seq=incident.head_seq,
        head_hash=bytes(incident.head_hash).hex(),
        checkpoint_seq=incident.checkpoint_seq,
        chain_ok=incident.chain_ok,
        chain_message=incident.chain_message,
        report_digest=bytes(incident.report_digest).hex(),
        customers_affected=incident.customers_affected,
        customers_revealed=incident.customers_revealed,
        summary=incident.summary,
        contained_at=incident.contained_at,
    )


@router.post("/blast-radius")
def blast_radius(
    body: BlastRadiusRequest, session: SessionDep, actor: IncidentManager, runtime: RuntimeDep
) -> BlastRadiusOut:
    """Which customers an account (or some of its sessions) exposed in a window; a broken chain is flagged."""
    query = build_query(
        session, actor_name=body.actor, model=body.model, sessions=body.sessions, since=body.since, until=body.until
    )
    report = run_blast_radius(session, query, actor=actor, keys=_keys(runtime) if body.verify_chain else None)
    return _report_out(report)


@router.post("", status_code=201)
def create_incident(
    body: IncidentRequest, session: SessionDep, actor: IncidentManager, runtime: RuntimeDep
) -> IncidentOut:
    """Compute a blast radius and store it as an incident (parameters, chain head, digest)."""
    query = build_query(
        session, actor_name=body.actor, model=body.model, sessions=body.sessions, since=body.since, until=body.until
    )
    report = run_blast_radius(session, query, actor=actor, keys=_keys(runtime) if body.verify_chain else None)
    return _incident_out(record_incident(session, report, reason=body.reason, actor=actor))


@router.get("")
def incidents(
    session: SessionDep,
    _actor: IncidentManager,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[IncidentOut]:
    """Recorded incidents (reports and containments), newest first."""
    return [_incident_out(incident) for incident in list_incidents(session, limit=limit, offset=offset)]


@router.post("/contain", status_code=201)
def contain(body: ContainRequest, session: SessionDep, actor: IncidentManager, runtime: RuntimeDep) -> ContainOut:
    """Suspend the account, revoke its sessions and tokens, force MFA re-enrolment, record the incident."""
    result = contain_account(
        session, account=body.actor, reason=body.reason, actor=actor, since=body.since, keys=_keys(runtime)
    )
    return ContainOut.model_validate(result.as_dict())


@router.get("/{incident_id}")
def show_incident(incident_id: uuid.UUID, session: SessionDep, _actor: IncidentManager) -> IncidentOut:
    """A stored incident."""
    return _incident_out(get_incident(session, incident_id))


@router.post("/{incident_id}/verify")
def verify(
    incident_id: uuid.UUID, session: SessionDep, actor: IncidentManager, runtime: RuntimeDep
) -> IncidentVerifyOut:
    """Recompute the incident's report at its recorded chain head and compare digests."""
    result = verify_incident(session, get_incident(session, incident_id), actor=actor, keys=_keys(runtime))
    return IncidentVerifyOut.model_validate(result.as_dict())


@router.post(
    "/{incident_id}/notifications",
    dependencies=[require(Permission.INCIDENT_MANAGE)],
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def notifications(
    incident_id: uuid.UUID, body: ExportRequest, session: SessionDep, actor: StepUpDep, runtime: RuntimeDep
) -> Response:
    """One record per affected customer with the contact channel, decrypted now; needs a recent step-up."""
    incident = get_incident(session, incident_id)
    records = export_notifications(session, runtime.keyring, incident, actor=actor, export_format=body.format)
    media = "text/csv" if body.format is ExportFormat.CSV else "application/json"
    return Response(
        content=render(records, body.format),
        media_type=media,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="incident-{incident.id}-notifications.{body.format}"',
        },
    )
