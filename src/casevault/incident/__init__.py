"""Incident response: exact blast radius from the audit trail, containment and customer-notification export."""

from casevault.incident.blast_radius import (
    BlastModel,
    BlastQuery,
    BlastRadiusReport,
    ChainStatus,
    CustomerExposure,
    FieldExposure,
    Share,
    compute_blast_radius,
)
from casevault.incident.containment import ContainmentResult, contain_account
from casevault.incident.models import Incident, IncidentKind
from casevault.incident.notifications import (
    ExportFormat,
    IncidentChanged,
    NotificationRecord,
    export_notifications,
    guidance_for,
    render,
)
from casevault.incident.services import (
    IncidentVerification,
    UnknownAccount,
    UnknownIncident,
    UnknownSession,
    build_query,
    get_incident,
    list_incidents,
    query_of,
    record_incident,
    resolve_staff,
    run_blast_radius,
    verify_incident,
)

__all__ = [
    "BlastModel",
    "BlastQuery",
    "BlastRadiusReport",
    "ChainStatus",
    "ContainmentResult",
    "CustomerExposure",
    "ExportFormat",
    "FieldExposure",
    "Incident",
    "IncidentChanged",
    "IncidentKind",
    "IncidentVerification",
    "NotificationRecord",
    "Share",
    "UnknownAccount",
    "UnknownIncident",
    "UnknownSession",
    "build_query",
    "compute_blast_radius",
    "contain_account",
    "export_notifications",
    "get_incident",
    "guidance_for",
    "list_incidents",
    "query_of",
    "record_incident",
    "render",
    "resolve_staff",
    "run_blast_radius",
    "verify_incident",
]
