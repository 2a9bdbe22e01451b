"""Reading the audit trail for security officers: filtered, newest first, keyset (cursor) pagination."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from casevault.audit.events import AuditAction
from casevault.audit.models import AuditEvent, AuditSubject

__all__ = ["EventFilter", "EventPage", "InvalidCursor", "decode_cursor", "encode_cursor", "search_events"]


class InvalidCursor(ValueError):
    """The pagination cursor was not produced by this API."""


@dataclass(frozen=True)
class EventFilter:
    """Every field narrows the result; `actor` is a staff id or an actor label (username, `cli:…`, `system`)."""

    actor: str | None = None
    action: AuditAction | None = None
    customer_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class EventPage:
    """Events newest first, each with its subjects; `next_before` is the seq to continue below, if any."""

    events: list[tuple[AuditEvent, list[AuditSubject]]]
    next_before: int | None


def encode_cursor(before_seq: int) -> str:
    """Opaque cursor meaning "events older than `before_seq`"."""
    return base64.urlsafe_b64encode(f"v1:{before_seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The seq a cursor points below; raises InvalidCursor for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, _, value = text.partition(":")
        seq = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if version != "v1" or seq < 1:
        raise InvalidCursor("cursor is not valid")
    return seq


def _filtered(query: Select[AuditEvent], filters: EventFilter) -> Select[AuditEvent]:
    if filters.actor is not None:
        try:
            query = query.where(AuditEvent.actor_id == uuid.UUID(filters.actor))
        except ValueError:
            query = query.where(AuditEvent.actor_label == filters.actor)
    if filters.action is not None:
        query = query.where(AuditEvent.action == str(filters.action))
    if filters.customer_id is not None:
        exposed = select(AuditSubject.event_seq).where(AuditSubject.customer_id == filters.customer_id)
        query = query.where(AuditEvent.seq.in_(exposed))
    if filters.since is not None:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.occurred_at < filters.until)
    return query


def search_events(session: Session, filters: EventFilter, *, before: int | None = None, limit: int = 100) -> EventPage:
    """One page of matching events, newest first."""
    query = _filtered(select(AuditEvent), filters)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    subjects: defaultdict[int, list[AuditSubject]] = defaultdict(list)
    if rows:
        seqs = [row.seq for row in rows]
        for subject in session.scalars(
            select(AuditSubject).where(AuditSubject.event_seq.in_(seqs)).order_by(AuditSubject.id)
        ):
            subjects[subject.event_seq].append(subject)
    return EventPage([(row, subjects[row.seq]) for row in rows], rows[-1].seq if more and rows else None)
