"""API shapes for alerts: what a security officer sends to handle one, and what comes back (no PII)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from casevault.access.schemas import Reason

__all__ = ["AlertNoteIn", "AlertOut"]


class AlertNoteIn(BaseModel):
    """Why the alert is acknowledged or closed (at least 15 characters; stored redacted)."""

    model_config = ConfigDict(extra="forbid")

    note: Reason


class AlertOut(BaseModel):
    """One alert as the security team sees it: references and counts, the handler and the redacted note."""

    id: uuid.UUID
    kind: str
    severity: str
    status: str
    raised_at: datetime
    subject_staff_id: uuid.UUID | None
    detail: dict[str, Any]
    handled_by_id: uuid.UUID | None
    handled_at: datetime | None
    note: str | None
