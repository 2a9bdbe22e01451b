"""API shapes for cases, notes, customers, contacts, organisations and queues.

Inputs forbid unknown fields and cap every text; outputs carry only redacted free text and masked
structured PII (revealing a value is a separate, audited action).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from casevault.cases.models import CaseStatus, ContactKind, NoteVisibility, Priority, QueueRole
from casevault.cases.services import LIMITS

__all__ = [
    "QUEUE_NAME",
    "USERNAME",
    "AssignIn",
    "CaseCreate",
    "CaseDetail",
    "CasePageOut",
    "CaseSummary",
    "ContactCreate",
    "ContactOut",
    "CustomerCreate",
    "CustomerOut",
    "CustomerRef",
    "CustomerSummary",
    "CustomerSummaryList",
    "MemberAdd",
    "MemberOut",
    "NoteCreate",
    "NoteList",
    "NoteOut",
    "OrganizationCreate",
    "OrganizationList",
    "OrganizationOut",
    "QueueCreate",
    "QueueOut",
    "RemarksIn",
    "ResolveIn",
    "StatusIn",
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["name"])]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=LIMITS["email"], pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=4, max_length=LIMITS["phone"], pattern=r"^\+?[0-9 ().-]+$")
]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
QUEUE_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Printable only: usernames are looked up in the database, and PostgreSQL text cannot hold NUL.
USERNAME = r"^[^\x00-\x1f\x7f]+$"
QueueName = Annotated[str, StringConstraints(pattern=QUEUE_NAME)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=USERNAME)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------- inputs


class OrganizationCreate(_In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    country: Country
    sector: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class CustomerCreate(_In):
    name: Name
    email: Email
    phone: Phone | None = None
    country: Country
    organization_id: uuid.UUID | None = None


class ContactCreate(_In):
    kind: ContactKind
    name: Name
    email: Email
    phone: Phone | None = None


class QueueCreate(_In):
    name: QueueName
    description: Annotated[str, StringConstraints(max_length=500)] = ""


class MemberAdd(_In):
    username: Username
    role: QueueRole = QueueRole.MEMBER


class CaseCreate(_In):
    customer: Reference
    queue: QueueName
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LIMITS["subject"])]
    description: Annotated[str, StringConstraints(min_length=1, max_length=LIMITS["description"])]
    priority: Priority = Priority.NORMAL
    assignee: Username | None = None


class AssignIn(_In):
    assignee: Username | None = Field(description="username of a member of the case's queue; null unassigns")


class StatusIn(_In):
    status: CaseStatus


class NoteCreate(_In):
    body: Annotated[str, StringConstraints(min_length=1, max_length=LIMITS["note"])]
    visibility: NoteVisibility = NoteVisibility.INTERNAL


class ResolveIn(_In):
    resolution: Annotated[str, StringConstraints(min_length=1, max_length=LIMITS["resolution"])]


class RemarksIn(_In):
    remarks: Annotated[str, StringConstraints(max_length=LIMITS["remarks"])] | None


# ---------------------------------------------------------------------------------------------- outputs


class OrganizationOut(BaseModel):
    id: uuid.UUID
    name: str
    country: str
    sector: str
    created_at: datetime


class OrganizationList(BaseModel):
    items: list[OrganizationOut]
    limit: int
    offset: int


class ContactOut(BaseModel):
    id: uuid.UUID
    kind: ContactKind
    name: str = Field(description="masked")
    email: str = Field(description="masked")
    phone: str | None = Field(description="masked")


class CustomerOut(BaseModel):
    reference: str
    country: str
    organization_id: uuid.UUID | None
    name: str = Field(description="masked")
    email: str = Field(description="masked")
    phone: str | None = Field(description="masked")
    contacts: list[ContactOut]
    created_at: datetime


class CustomerSummary(BaseModel):
    reference: str
    country: str
    name: str = Field(description="masked")
    email: str = Field(description="masked")


class CustomerSummaryList(BaseModel):
    items: list[CustomerSummary]


class CustomerRef(BaseModel):
    reference: str
    name: str = Field(description="masked")
    email: str = Field(description="masked")


class QueueOut(BaseModel):
    name: str
    description: str


class MemberOut(BaseModel):
    queue: str
    username: str
    role: QueueRole


class CaseSummary(BaseModel):
    number: str
    status: CaseStatus
    priority: Priority
    queue: str
    assignee: str | None
    customer: str = Field(description="customer reference")
    subject: str = Field(description="redacted")
    created_at: datetime
    updated_at: datetime


class CasePageOut(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int


class CaseDetail(BaseModel):
    number: str
    status: CaseStatus
    priority: Priority
    queue: str
    assignee: str | None
    customer: CustomerRef
    subject: str = Field(description="redacted")
    description: str = Field(description="redacted")
    resolution: str | None = Field(description="redacted")
    remarks: str | None = Field(description="redacted")
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class NoteOut(BaseModel):
    id: uuid.UUID
    visibility: NoteVisibility
    author: str | None
    body: str = Field(description="redacted")
    created_at: datetime


class NoteList(BaseModel):
    items: list[NoteOut]
