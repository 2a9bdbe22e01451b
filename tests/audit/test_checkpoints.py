"""Signed checkpoints: created on demand or automatically, verifiable with the published key only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from casevault.audit import Ed25519Signer, create_checkpoint, enable_auto_checkpoints, key_id_for, verify
from casevault.audit.checkpoints import checkpoint_message
from casevault.crypto import LocalKeyFile
from casevault.db import Database


def test_signer_is_derived_from_the_key_provider(key_provider: LocalKeyFile, tmp_path: Path) -> None:
    first = Ed25519Signer.from_provider(key_provider)
    again = Ed25519Signer.from_provider(LocalKeyFile(tmp_path / "keys" / "master.key"))
    other = Ed25519Signer.from_provider(LocalKeyFile.create(tmp_path / "other.key"))
    assert first.key_id == again.key_id == key_id_for(first.public_key)
    assert first.key_id.startswith("ed25519:")
    assert other.key_id != first.key_id
    assert "ed25519:" in repr(first)


def test_create_checkpoint_signs_the_head(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any]) -> None:
    with db.unit_of_work() as session:
        assert create_checkpoint(session, signer) is None  # nothing to sign yet
    seed_chain(db, 4)
    with db.unit_of_work() as session:
        checkpoint = create_checkpoint(session, signer)
    assert checkpoint is not None
    assert (checkpoint.seq, checkpoint.event_count, checkpoint.key_id) == (4, 4, signer.key_id)
    message = checkpoint_message(4, checkpoint.head_hash, 4, checkpoint.created_at, signer.key_id)
    signer.public_key.verify(checkpoint.signature, message)  # raises if invalid
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok
    assert report.head_hash == checkpoint.head_hash.hex()


def test_automatic_checkpoints_every_n_events(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any]
) -> None:
    enable_auto_checkpoints(db, signer, every=5)
    seed_chain(db, 12, per_transaction=3)  # commits end at seq 3, 6, 9, 12
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok
    assert (report.checkpoints_checked, report.latest_checkpoint_seq) == (2, 12)
    enable_auto_checkpoints(db, signer, every=0)  # off again
    seed_chain(db, 9, per_transaction=9)
    assert verify(db.engine, keys=[signer.public_key]).checkpoints_checked == 2
