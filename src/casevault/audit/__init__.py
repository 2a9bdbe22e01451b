"""Append-only, hash-chained audit trail with signed checkpoints."""

from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject
from casevault.audit.trail import GENESIS_HASH, Subject, event_digest, record

__all__ = [
    "GENESIS_HASH",
    "AuditAction",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditSubject",
    "Exposure",
    "Outcome",
    "Subject",
    "event_digest",
    "record",
]
