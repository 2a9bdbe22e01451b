"""The public surface of casevault.incident is pinned: an accidental export or removal shows up here."""

from __future__ import annotations

import casevault.incident
from casevault.incident.api import router

EXPECTED = {
    "BlastModel", "BlastQuery", "BlastRadiusReport", "ChainStatus", "ContainmentResult", "CustomerExposure",
    "ExportFormat", "FieldExposure", "Incident", "IncidentChanged", "IncidentKind", "IncidentVerification",
    "NotificationRecord", "Share", "UnknownAccount", "UnknownIncident", "UnknownSession", "build_query",
    "compute_blast_radius", "contain_account", "export_notifications", "get_incident", "guidance_for",
    "list_incidents", "query_of", "record_incident", "render", "resolve_staff", "run_blast_radius", "verify_incident",
}  # fmt: skip


def test_all_is_pinned_and_importable() -> None:
    assert set(casevault.incident.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(casevault.incident, name) is not None


def test_routes() -> None:
    routes = {(sorted(route.methods)[0], route.path) for route in router.routes}  # type: ignore[attr-defined]
    assert routes == {
        ("POST", "/incidents/blast-radius"),
        ("POST", "/incidents"),
        ("GET", "/incidents"),
        ("POST", "/incidents/contain"),
        ("GET", "/incidents/{incident_id}"),
        ("POST", "/incidents/{incident_id}/verify"),
        ("POST", "/incidents/{incident_id}/notifications"),
    }
