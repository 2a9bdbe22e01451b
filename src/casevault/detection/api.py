"""Security-officer routes under /api/v1/alerts: acknowledge and close an alert with a note (audited)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.api.deps import SessionDep, UnitOfWorkRoute, require
from casevault.detection.models import Alert
from casevault.detection.schemas import AlertNoteIn, AlertOut
from casevault.detection.services import AlertHandling, handle_alert

__all__ = ["router"]

router = APIRouter(prefix="/alerts", tags=["alerts"], route_class=UnitOfWorkRoute)

AlertHandler = Annotated[Actor, require(Permission.ALERT_READ)]


def alert_out(alert: Alert) -> AlertOut:
    """The API view of an alert (its detail holds references and counts only)."""
    return AlertOut(
        id=alert.id,
        kind=str(alert.kind),
        severity=str(alert.severity),
        status=str(alert.status),
        raised_at=alert.raised_at,
        subject_staff_id=alert.subject_staff_id,
        detail=dict(alert.detail or {}),
        handled_by_id=alert.handled_by_id,
        handled_at=alert.handled_at,
        note=alert.note_redacted,
    )


@router.post("/{alert_id}/acknowledge")
def acknowledge_alert(alert_id: uuid.UUID, body: AlertNoteIn, session: SessionDep, actor: AlertHandler) -> AlertOut:
    """Someone is on it: an open alert becomes acknowledged, with a note (stored redacted, audited by length)."""
    return alert_out(handle_alert(session, alert_id, AlertHandling.ACKNOWLEDGE, note=body.note, actor=actor))


@router.post("/{alert_id}/close")
def close_alert(alert_id: uuid.UUID, body: AlertNoteIn, session: SessionDep, actor: AlertHandler) -> AlertOut:
    """Done: an open or acknowledged alert is closed with what was found (stored redacted, audited by length)."""
    return alert_out(handle_alert(session, alert_id, AlertHandling.CLOSE, note=body.note, actor=actor))
