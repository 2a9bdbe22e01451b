"""Every kind of tampering, done the way an attacker with database access would, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from casevault.audit import (
    AuditCheckpoint,
    AuditEvent,
    AuditSubject,
    Ed25519Signer,
    Problem,
    Subject,
    create_checkpoint,
    event_digest,
    verify,
)
from casevault.db import Database

Sql = Callable[..., Any]


def _checkpoint(db: Database, signer: Ed25519Signer) -> None:
    with db.unit_of_work() as session:
        assert create_checkpoint(session, signer) is not None


def _rehash_from(db: Database, sql: Sql, start: int) -> None:
    """Recompute the hashes of `start` and every later event, as an attacker who knows the algorithm would."""
    with db.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.seq >= start - 1).order_by(AuditEvent.seq)).all()
        subjects = {
            event.seq: [
                Subject(row.customer_id, row.case_id, row.exposure)  # type: ignore[arg-type]
                for row in session.scalars(select(AuditSubject).where(AuditSubject.event_seq == event.seq))
            ]
            for event in events
        }
    prev = events[0].hash
    for event in events[1:]:
        digest = event_digest(prev, event, subjects[event.seq])
        sql("UPDATE audit_events SET prev_hash = %s, hash = %s WHERE seq = %s", (prev, digest, event.seq))
        prev = digest


def test_untouched_chain_verifies(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any]) -> None:
    seed_chain(db, 6)
    _checkpoint(db, signer)
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok
    assert (report.events_checked, report.checkpoints_checked, report.latest_checkpoint_seq) == (6, 1, 6)


def test_triggers_refuse_update_and_delete(db: Database, seed_chain: Callable[..., Any]) -> None:
    seed_chain(db, 2)
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events", "DELETE FROM audit_subjects"):
        with pytest.raises(DatabaseError, match="append-only"), db.unit_of_work() as session:
            session.execute(text(statement))
    with db.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM audit_events WHERE reason IS NULL")) == 2
        assert session.scalar(text("SELECT count(*) FROM audit_subjects")) == 3


def test_edited_event(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any) -> None:
    seed_chain(db, 6)
    with attacker(db) as sql:
        sql("UPDATE audit_events SET actor_label = 'someone-else' WHERE seq = 3")
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.EDITED, 3)
    assert verify(db.engine, keys=[signer.public_key], client_hashing=True) == report


def test_edited_detail_json_even_if_equivalent(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 4)
    with attacker(db) as sql:
        sql("""UPDATE audit_events SET detail = '{"index": 2}' WHERE seq = 3""")
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.problem, report.first_bad_seq) == (Problem.EDITED, 3)


def test_edited_and_rehashed_event(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 6)
    with attacker(db) as sql:
        sql("UPDATE audit_events SET target_id = 'CV-2026-999999' WHERE seq = 3")
        with db.sessions() as session:
            row = session.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
            subjects = [
                Subject(s.customer_id, s.case_id, s.exposure)  # type: ignore[arg-type]
                for s in session.scalars(select(AuditSubject).where(AuditSubject.event_seq == 3))
            ]
        sql("UPDATE audit_events SET hash = %s WHERE seq = 3", (event_digest(row.prev_hash, row, subjects),))
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.problem, report.first_bad_seq) == (Problem.EDITED, 3)
    assert report.events_checked >= 4


def test_removed_subject_is_an_edit(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 6)
    with attacker(db) as sql:
        sql("DELETE FROM audit_subjects WHERE event_seq = 2 AND exposure = 'listed'")
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.problem, report.first_bad_seq) == (Problem.EDITED, 2)


def test_deleted_events(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any) -> None:
    seed_chain(db, 6)
    for victim in (4, 1):  # the first gap is reported
        with attacker(db) as sql:
            sql("DELETE FROM audit_subjects WHERE event_seq = %s", (victim,))
            sql("DELETE FROM audit_events WHERE seq = %s", (victim,))
        report = verify(db.engine, keys=[signer.public_key])
        assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.DELETED, victim)


def test_reordered_events(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any) -> None:
    seed_chain(db, 8)
    with attacker(db) as sql:
        for old, new in ((4, -1), (5, 4), (-1, 5)):
            sql("UPDATE audit_subjects SET event_seq = %s WHERE event_seq = %s", (new, old))
            sql("UPDATE audit_events SET seq = %s WHERE seq = %s", (new, old))
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.REORDERED, 4)


def test_truncated_past_checkpoint(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 6)
    _checkpoint(db, signer)
    with attacker(db) as sql:
        sql("DELETE FROM audit_subjects WHERE event_seq >= 5")
        sql("DELETE FROM audit_events WHERE seq >= 5")
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.TRUNCATED, 5)
    assert report.head_seq == 4


def test_rewritten_suffix_is_caught_by_the_checkpoint(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 6)
    _checkpoint(db, signer)
    with attacker(db) as sql:
        sql("UPDATE audit_events SET outcome = 'denied' WHERE seq = 3")
        _rehash_from(db, sql, 3)
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.EDITED, 6)
    assert "checkpoint" in report.message


def test_forged_checkpoint(db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any], attacker: Any) -> None:
    seed_chain(db, 3)
    _checkpoint(db, signer)
    with db.sessions() as session:
        original = session.scalars(select(AuditCheckpoint)).one()
    for statement, forged, genuine in (
        ("UPDATE audit_checkpoints SET head_hash = %s", b"\x07" * 32, original.head_hash),
        ("UPDATE audit_checkpoints SET signature = %s", b"\x07" * 64, original.signature),
    ):
        with attacker(db) as sql:
            sql(statement, (forged,))
        report = verify(db.engine, keys=[signer.public_key])
        assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.BAD_SIGNATURE, 3)
        with attacker(db) as sql:
            sql(statement, (genuine,))
        assert verify(db.engine, keys=[signer.public_key]).ok


def test_checkpoint_signed_by_an_untrusted_key(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., Any]
) -> None:
    seed_chain(db, 3)
    _checkpoint(db, Ed25519Signer(Ed25519PrivateKey.generate()))
    report = verify(db.engine, keys=[signer.public_key])
    assert (report.problem, report.first_bad_seq) == (Problem.BAD_SIGNATURE, 3)
