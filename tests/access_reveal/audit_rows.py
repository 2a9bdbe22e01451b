"""Reading the audit trail back in tests (as the superuser / SQLite owner, outside any request)."""

from __future__ import annotations

import json

from sqlalchemy import select

from casevault.audit import AuditEvent
from casevault.audit.models import AuditSubject
from casevault.db import Database


def events(db: Database, action: str, outcome: str | None = None) -> list[AuditEvent]:
    with db.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        if outcome is not None:
            query = query.where(AuditEvent.outcome == outcome)
        return list(session.scalars(query.order_by(AuditEvent.seq)).all())


def exposures(db: Database, event: AuditEvent) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditSubject.exposure).where(AuditSubject.event_seq == event.seq)).all())


def whole_trail_text(db: Database) -> str:
    """Every event's free-form columns, to assert a clear value never reached the trail."""
    with db.sessions() as session:
        rows = session.scalars(select(AuditEvent)).all()
        return "\n".join(
            json.dumps([row.reason, row.target_id, row.fields, row.detail], default=str, ensure_ascii=False)
            for row in rows
        )
