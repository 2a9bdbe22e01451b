"""Signed checkpoints: an Ed25519 signature over the chain head, so rewriting or truncating the chain shows.

The signer sits behind a Protocol: the local implementation derives its seed from the key provider
(`mac_key("audit-checkpoint")`); in production the private key lives in the HSM/KMS and never leaves it
(docs/adr/0301-audit-checkpoint-signing.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from casevault.audit.models import AuditCheckpoint
from casevault.audit.trail import AFTER_APPEND, ChainHead, append_pending, lock_chain
from casevault.crypto.providers import KeyProvider
from casevault.db.base import utcnow
from casevault.db.session import Database

__all__ = [
    "CheckpointFields",
    "CheckpointSigner",
    "Ed25519Signer",
    "checkpoint_message",
    "create_checkpoint",
    "enable_auto_checkpoints",
    "key_id_for",
    "signature_valid",
    "trusted_keys",
]

SIGNING_PURPOSE = "audit-checkpoint"


@runtime_checkable
class CheckpointSigner(Protocol):
    """Signs checkpoint messages; an HSM/KMS implementation keeps the private key inside the device."""

    @property
    def key_id(self) -> str:
        """Names the key; derived from the public key so verifiers can pick the right one."""
        ...

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The verification key, safe to publish."""
        ...

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature over `message`."""
        ...


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """`ed25519:` and the first 16 bytes of SHA-256 over the raw public key, in hex."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


class Ed25519Signer:
    """A local Ed25519 key; `from_provider` derives it deterministically from the key provider."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self._public = private_key.public_key()
        self._key_id = key_id_for(self._public)

    @classmethod
    def from_provider(cls, provider: KeyProvider) -> Ed25519Signer:
        """The provider's 32-byte `audit-checkpoint` MAC key used as the Ed25519 seed."""
        return cls(Ed25519PrivateKey.from_private_bytes(provider.mac_key(SIGNING_PURPOSE)))

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self._key_id!r})"


def checkpoint_message(seq: int, head_hash: bytes, event_count: int, created_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signs (versioned, one field per line)."""
    stamp = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"casevault.audit.checkpoint.v1\n{seq}\n{head_hash.hex()}\n{event_count}\n{stamp}\n{key_id}\n".encode()


def trusted_keys(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Verification keys by key id."""
    return {key_id_for(key): key for key in keys}


class CheckpointFields(Protocol):
    """What signature_valid() reads: an AuditCheckpoint or a row of the audit_checkpoints table."""

    @property
    def seq(self) -> int: ...
    @property
    def head_hash(self) -> bytes: ...
    @property
    def event_count(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def key_id(self) -> str: ...
    @property
    def signature(self) -> bytes: ...


def signature_valid(checkpoint: CheckpointFields, keys: dict[str, Ed25519PublicKey]) -> bool:
    """True if a trusted key with the checkpoint's key id signed exactly this checkpoint."""
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    message = checkpoint_message(
        checkpoint.seq, bytes(checkpoint.head_hash), checkpoint.event_count, checkpoint.created_at, checkpoint.key_id
    )
    try:
        key.verify(bytes(checkpoint.signature), message)
    except InvalidSignature:
        return False
    return True


def _sign_head(session: Session, signer: CheckpointSigner, head: ChainHead) -> AuditCheckpoint:
    created = utcnow()
    # seq is gap-free from 1 (assigned under the chain lock), so the head's seq is also the event count.
    checkpoint = AuditCheckpoint(
        seq=head.seq,
        head_hash=head.hash,
        event_count=head.seq,
        key_id=signer.key_id,
        created_at=created,
        signature=signer.sign(checkpoint_message(head.seq, head.hash, head.seq, created, signer.key_id)),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def create_checkpoint(session: Session, signer: CheckpointSigner) -> AuditCheckpoint | None:
    """Sign the current chain head (including this transaction's events); None if the chain is empty."""
    head = append_pending(session) or lock_chain(session)
    if head.seq == 0:
        return None
    return _sign_head(session, signer, head)


@dataclass(frozen=True)
class _AutoCheckpoint:
    signer: CheckpointSigner
    every: int

    def __call__(self, session: Session, before: ChainHead, after: ChainHead) -> None:
        # Still under the chain lock: sign when the append crossed a multiple of `every`.
        if after.seq // self.every > before.seq // self.every:
            _sign_head(session, self.signer, after)


def enable_auto_checkpoints(db: Database, signer: CheckpointSigner, *, every: int = 1000) -> None:
    """Make every session of `db` sign a checkpoint whenever its commit carries the chain past a multiple of `every`.

    `every=0` turns automatic checkpoints off (Settings.audit_checkpoint_every uses the same meaning).
    """
    if every < 0:
        raise ValueError("every must be 0 (off) or positive")
    info = dict(db.sessions.kw.get("info") or {})
    if every == 0:
        info.pop(AFTER_APPEND, None)
    else:
        info[AFTER_APPEND] = _AutoCheckpoint(signer, every)
    db.sessions.configure(info=info)
