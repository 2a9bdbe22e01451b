"""API shapes for reveal, just-in-time grants and break-glass. Reasons are validated here and stored redacted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from casevault.access.grants import REASON_MAX_LENGTH, REASON_MIN_LENGTH

__all__ = [
    "BreakGlassIn",
    "BreakGlassList",
    "BreakGlassOut",
    "GrantList",
    "GrantOut",
    "GrantRequestIn",
    "Reason",
    "RevealIn",
    "RevealOut",
    "ReviewIn",
]

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=REASON_MIN_LENGTH, max_length=REASON_MAX_LENGTH)
]
CaseNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^CV-\d{4}-\d{6,9}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevealIn(_In):
    """One token from the case's redacted text, or one structured field (`customer.email`, `contact:<id>.phone`)."""

    token: Annotated[str | None, Field(max_length=80)] = None
    field: Annotated[str | None, Field(max_length=80)] = None
    reason: Reason


class RevealOut(BaseModel):
    """The clear value; the response is marked no-store."""

    case: str
    entity_type: str
    target: str
    value: str


class GrantRequestIn(_In):
    """Ask for access to one case outside your scope."""

    case: CaseNumber
    reason: Reason


class GrantOut(BaseModel):
    """A grant request and where it stands (pending, approved, revoked or expired)."""

    id: uuid.UUID
    case: str
    requester: str
    state: str
    reason: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class GrantList(BaseModel):
    items: list[GrantOut]


class BreakGlassIn(_In):
    """Break the glass on one case: a reason, a fresh second factor, and an alert to the security team."""

    case: CaseNumber
    reason: Reason


class BreakGlassOut(BaseModel):
    id: uuid.UUID
    case: str
    staff: str
    reason: str
    started_at: datetime
    expires_at: datetime
    alert_id: uuid.UUID | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None


class BreakGlassList(BaseModel):
    items: list[BreakGlassOut]


class ReviewIn(_In):
    """What the reviewer concluded (stored redacted)."""

    note: Reason
