"""Imports every table module so Base.metadata is complete (for migrations and schema checks)."""

from casevault.access.models import AccessGrant, BreakGlassSession
from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject
from casevault.cases.models import (
    Case,
    CaseCounter,
    CaseSearchDocument,
    Contact,
    Customer,
    Note,
    Organization,
    Queue,
    QueueMembership,
)
from casevault.crypto.models import DataKey
from casevault.detection.models import Alert
from casevault.identity.models import (
    ApiToken,
    MfaResetRequest,
    RecoveryCode,
    SigninThrottle,
    Staff,
    StaffSession,
    TotpFactor,
    WebauthnChallenge,
    WebauthnCredential,
)
from casevault.incident.models import Incident

__all__ = [
    "AccessGrant",
    "Alert",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSubject",
    "BreakGlassSession",
    "Case",
    "CaseCounter",
    "CaseSearchDocument",
    "Contact",
    "Customer",
    "DataKey",
    "Incident",
    "MfaResetRequest",
    "Note",
    "Organization",
    "Queue",
    "QueueMembership",
    "RecoveryCode",
    "SigninThrottle",
    "Staff",
    "StaffSession",
    "TotpFactor",
    "WebauthnChallenge",
    "WebauthnCredential",
]
