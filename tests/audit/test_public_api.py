"""The audit package's public surface is pinned, so an accidental export or removal shows up here."""

from __future__ import annotations

import casevault.audit

EXPECTED = {
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
}


def test_audit_exports_exactly_its_public_api() -> None:
    assert set(casevault.audit.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(casevault.audit, name) is not None
