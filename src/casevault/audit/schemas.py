"""API shapes of the audit trail (security officers only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from casevault.audit.verify import Problem

__all__ = ["AuditEventOut", "AuditEventPage", "AuditSubjectOut", "VerifyOut"]


class AuditSubjectOut(BaseModel):
    """A customer (and case) the event exposed, and how much."""

    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    exposure: str


class AuditEventOut(BaseModel):
    """One audit event as stored, with its chain hashes in hex."""

    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_label: str
    session_ref: str | None
    ip_prefix: str | None
    action: str
    outcome: str
    reason: str | None
    target_type: str | None
    target_id: str | None
    fields: list[str]
    detail: dict[str, Any]
    subjects: list[AuditSubjectOut]
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    """Newest first; pass `next_cursor` back as `cursor` for the next page (null on the last page)."""

    events: list[AuditEventOut]
    next_cursor: str | None


class VerifyOut(BaseModel):
    """The result of verifying the whole chain and its signed checkpoints."""

    ok: bool
    events_checked: int
    head_seq: int
    head_hash: str
    checkpoints_checked: int
    latest_checkpoint_seq: int | None
    problem: Problem | None
    first_bad_seq: int | None
    message: str
