"""API shapes of incident response (security officers only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from casevault.incident.blast_radius import BlastModel
from casevault.incident.notifications import ExportFormat

__all__ = [
    "BlastRadiusOut",
    "BlastRadiusRequest",
    "ChainOut",
    "ContainOut",
    "ContainRequest",
    "CustomerOut",
    "ExportRequest",
    "FieldOut",
    "IncidentOut",
    "IncidentRequest",
    "IncidentVerifyOut",
    "QueryOut",
    "ShareOut",
]


class BlastRadiusRequest(BaseModel):
    """Who and what to compute: an account (username or staff id), optional sessions and window, a model."""

    actor: str = Field(min_length=1, max_length=64)
    sessions: list[str] = Field(default_factory=list, max_length=50)
    since: datetime | None = None
    until: datetime | None = None
    model: BlastModel = BlastModel.ACCOUNT
    verify_chain: bool = True


class IncidentRequest(BlastRadiusRequest):
    """A blast radius to store as an incident, with why."""

    reason: str = Field(min_length=1, max_length=200)


class ContainRequest(BaseModel):
    """Contain an account now; the blast radius from `since` is stored with the incident."""

    actor: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=200)
    since: datetime | None = None


class ExportRequest(BaseModel):
    """Notification export format."""

    format: ExportFormat = ExportFormat.CSV


class QueryOut(BaseModel):
    actor: str
    staff_id: uuid.UUID
    model: BlastModel
    sessions: list[str]
    since: datetime | None
    until: datetime
    head_seq: int
    head_hash: str


class FieldOut(BaseModel):
    name: str
    shown: str
    entity_type: str


class CustomerOut(BaseModel):
    """One affected customer: references and labels only (contact details only in the notification export)."""

    customer_id: uuid.UUID
    reference: str
    country: str
    sector: str
    exposure: str
    revealed: bool
    wrote: bool
    cases: list[str]
    fields: list[FieldOut]
    first_seen: datetime
    last_seen: datetime
    events: int
    sessions: list[str]
    ip_prefixes: list[str]


class ShareOut(BaseModel):
    key: str
    customers: int
    share: float


class ChainOut(BaseModel):
    """verify()'s verdict; `affects_window` means the figures may be incomplete."""

    checked: bool
    ok: bool | None
    problem: str | None
    first_bad_seq: int | None
    message: str
    affects_window: bool


class BlastRadiusOut(BaseModel):
    """The blast radius report; `summary` is the line for the incident report."""

    summary: str
    chain: ChainOut
    computed_at: datetime
    checkpoint_seq: int | None
    customers_affected: int
    customers_revealed: int
    digest: str
    query: QueryOut
    customers: list[CustomerOut]
    by_country: list[ShareOut]
    by_sector: list[ShareOut]
    by_exposure: list[ShareOut]
    cases: int
    events: int


class IncidentOut(BaseModel):
    """A stored incident: who, why, when, the exact query and the chain head."""

    id: uuid.UUID
    kind: str
    created_at: datetime
    created_by: str
    reason: str
    account: str
    staff_id: uuid.UUID
    model: str
    sessions: list[str]
    since: datetime | None
    until: datetime
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None
    chain_ok: bool | None
    chain_message: str | None
    report_digest: str
    customers_affected: int
    customers_revealed: int
    summary: str
    contained_at: datetime | None


class IncidentVerifyOut(BaseModel):
    """Recomputing an incident against its recorded head."""

    incident_id: uuid.UUID
    ok: bool
    digest_matches: bool
    head_intact: bool
    recorded_digest: str
    recomputed_digest: str
    chain: ChainOut
    summary: str


class ContainOut(BaseModel):
    """What containment did."""

    incident_id: uuid.UUID
    account: str
    already_suspended: bool
    sessions_revoked: int
    tokens_revoked: int
    mfa_reenrolment_required: bool
    customers_affected: int
    customers_revealed: int
    summary: str
