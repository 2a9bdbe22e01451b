"""Append-only, hash-chained audit trail with signed checkpoints."""

from casevault.audit.checkpoints import (
    CheckpointSigner,
    Ed25519Signer,
    create_checkpoint,
    enable_auto_checkpoints,
    key_id_for,
)
from casevault.audit.encoding import ENCODING_VERSION
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject
from casevault.audit.trail import (
    GENESIS_HASH,
    AuditEntry,
    ChainHead,
    Subject,
    append_pending,
    event_digest,
    record,
    record_many,
)
from casevault.audit.verify import Problem, VerifyReport, verify

__all__ = [
    "ENCODING_VERSION",
    "GENESIS_HASH",
    "AuditAction",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditEvent",
    "AuditSubject",
    "ChainHead",
    "CheckpointSigner",
    "Ed25519Signer",
    "Exposure",
    "Outcome",
    "Problem",
    "Subject",
    "VerifyReport",
    "append_pending",
    "create_checkpoint",
    "enable_auto_checkpoints",
    "event_digest",
    "key_id_for",
    "record",
    "record_many",
    "verify",
]
