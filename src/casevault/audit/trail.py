"""Writing audit events. Every protected read and every write calls record() in the same transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.models import AuditEvent, AuditSubject
from casevault.db.base import utcnow

__all__ = ["GENESIS_HASH", "Subject", "event_digest", "record"]

GENESIS_HASH = b"\x00" * 32


@dataclass(frozen=True, slots=True)
class Subject:
    """A customer (and optionally case) an event exposed to the actor."""

    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None = None
    exposure: Exposure = Exposure.OPENED


def event_digest(prev_hash: bytes, event: AuditEvent, subjects: Sequence[Subject]) -> bytes:
    """SHA-256 over the previous hash and a canonical JSON form of the event and its subjects."""
    body = {
        "seq": event.seq,
        "at": event.occurred_at.isoformat(),
        "actor": str(event.actor_id) if event.actor_id else None,
        "label": event.actor_label,
        "session": event.session_ref,
        "ip": event.ip_prefix,
        "action": event.action,
        "outcome": event.outcome,
        "reason": event.reason,
        "target": [event.target_type, event.target_id],
        "fields": list(event.fields),
        "detail": event.detail,
        "subjects": [
            [str(s.customer_id) if s.customer_id else None, str(s.case_id) if s.case_id else None, s.exposure]
            for s in subjects
        ],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(prev_hash + canonical.encode("ascii")).digest()


def record(
    session: Session,
    *,
    actor: Actor,
    action: AuditAction,
    outcome: Outcome = Outcome.ALLOWED,
    target_type: str | None = None,
    target_id: str | None = None,
    subjects: Iterable[Subject] = (),
    fields: Sequence[str] = (),
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction. Never pass PII in reason or detail."""
    subject_list = list(subjects)
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    prev_seq, prev_hash = (last[0], last[1]) if last is not None else (0, GENESIS_HASH)
    event = AuditEvent(
        seq=prev_seq + 1,
        occurred_at=utcnow(),
        actor_id=actor.staff_id,
        actor_label=actor.username,
        session_ref=actor.session_ref,
        ip_prefix=actor.ip_prefix,
        action=str(action),
        outcome=str(outcome),
        reason=reason,
        target_type=target_type,
        target_id=target_id,
        fields=list(fields),
        detail=dict(detail or {}),
        prev_hash=prev_hash,
        hash=b"",
    )
    event.hash = event_digest(prev_hash, event, subject_list)
    session.add(event)
    session.flush()
    for subject in subject_list:
        session.add(
            AuditSubject(
                event_seq=event.seq,
                customer_id=subject.customer_id,
                case_id=subject.case_id,
                exposure=str(subject.exposure),
            )
        )
    return event
