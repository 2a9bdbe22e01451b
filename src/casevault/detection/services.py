"""Raising alerts: one row plus its audit event, in the caller's transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.audit.events import AuditAction
from casevault.audit.trail import record
from casevault.db.base import utcnow
from casevault.detection.models import Alert, AlertKind, Severity

__all__ = ["raise_alert"]

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
