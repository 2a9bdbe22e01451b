"""Raising and handling alerts: one row plus its audit event, in the caller's transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.grants import REASON_MIN_LENGTH, reason_ok, redact_reason
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.db.base import utcnow
from casevault.detection.models import Alert, AlertKind, AlertStatus, Severity
from casevault.errors import Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = ["AlertHandling", "handle_alert", "list_alerts", "raise_alert"]

log = logging.getLogger("casevault.detection")


def raise_alert(
    session: Session,
    *,
    kind: AlertKind,
    severity: Severity,
    actor: Actor,
    subject_staff_id: uuid.UUID | None,
    detail: Mapping[str, Any] | None = None,
) -> Alert:
    """Store an open alert and audit it; `detail` must hold references and counts only, never PII."""
    alert = Alert(
        raised_at=utcnow(),
        kind=kind,
        severity=severity,
        actor_id=actor.staff_id,
        actor_label=actor.username,
        subject_staff_id=subject_staff_id,
        detail=dict(detail or {}),
    )
    session.add(alert)
    session.flush()
    record(
        session,
        actor=actor,
        action=AuditAction.ALERT_RAISED,
        target_type="alert",
        target_id=str(alert.id),
        detail={"kind": str(kind), "severity": str(severity)},
    )
    log.warning("alert raised kind=%s severity=%s alert_id=%s", kind, severity, alert.id)
    return alert


def list_alerts(session: Session, *, status: AlertStatus | None = None, limit: int = 100) -> list[Alert]:
    """Alerts newest first, optionally only those in one review status (security officers read these)."""
    query = select(Alert)
    if status is not None:
        query = query.where(Alert.status == status)
    return list(session.scalars(query.order_by(Alert.raised_at.desc(), Alert.id).limit(limit)).all())


class AlertHandling(StrEnum):
    """What a security officer does with an alert: acknowledge it (someone is on it) or close it (done)."""

    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"


# Acknowledging is for open alerts; closing for open or acknowledged ones. A closed alert stays closed.
_FROM: dict[AlertHandling, frozenset[AlertStatus]] = {
    AlertHandling.ACKNOWLEDGE: frozenset({AlertStatus.OPEN}),
    AlertHandling.CLOSE: frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED}),
}
_TO = {AlertHandling.ACKNOWLEDGE: AlertStatus.ACKNOWLEDGED, AlertHandling.CLOSE: AlertStatus.CLOSED}
_AUDITED_AS = {AlertHandling.ACKNOWLEDGE: AuditAction.ALERT_ACKNOWLEDGED, AlertHandling.CLOSE: AuditAction.ALERT_CLOSED}


def handle_alert(
    session: Session,
    alert_id: uuid.UUID,
    handling: AlertHandling,
    *,
    note: str,
    actor: Actor,
    now: datetime | None = None,
) -> Alert:
    """Acknowledge or close an alert with a note: a security officer, never the alert's own subject (four eyes).

    The note is stored redacted and audited by its length only (ADR 0563); refusals are audited too.
    """
    action = _AUDITED_AS[handling]
    alert = session.get(Alert, alert_id)

    def refuse(reason: str) -> None:
        record(
            session,
            actor=actor,
            action=action,
            outcome=Outcome.DENIED,
            target_type="alert",
            target_id=str(alert_id),
            reason=reason,
        )

    if alert is None or actor.role != Role.SECURITY_OFFICER or actor.staff_id is None:
        refuse("no such alert" if alert is None else "only security officers handle alerts")
        raise NotFound()
    if alert.subject_staff_id is not None and alert.subject_staff_id == actor.staff_id:
        refuse("nobody handles an alert about themselves")
        raise PermissionDenied()
    if not reason_ok(note):
        raise InvalidInput(f"note: at least {REASON_MIN_LENGTH} characters")
    if alert.status not in _FROM[handling]:
        raise Conflict(f"the alert is already {alert.status}")
    previous = alert.status
    alert.status = _TO[handling]
    alert.handled_by_id = actor.staff_id
    alert.handled_at = now or utcnow()
    alert.note_redacted = redact_reason(note)
    record(
        session,
        actor=actor,
        action=action,
        target_type="alert",
        target_id=str(alert.id),
        detail={
            "kind": str(alert.kind),
            "from": str(previous),
            "to": str(alert.status),
            "note_length": len(note.strip()),
        },
    )
    return alert
