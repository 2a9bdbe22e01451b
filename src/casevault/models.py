"""Imports every table module so Base.metadata is complete (for migrations and schema checks)."""

from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject
from casevault.cases.models import (
    Case,
    CaseCounter,
    Contact,
    Customer,
    Note,
    Organization,
    Queue,
    QueueMembership,
    RedactionVault,
)
from casevault.crypto.models import DataKey
from casevault.identity.models import ApiToken, Staff

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSubject",
    "Case",
    "CaseCounter",
    "Contact",
    "Customer",
    "DataKey",
    "Note",
    "Organization",
    "Queue",
    "QueueMembership",
    "RedactionVault",
    "Staff",
]
