"""Appending to the chain: seq and hashes at commit, rollback, batch path, and what the hash covers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditSubject,
    Ed25519Signer,
    Exposure,
    Outcome,
    Subject,
    event_digest,
    record,
    record_many,
    verify,
)
from casevault.db import Database

AGENT = Actor(
    staff_id=uuid.UUID("5f0c3a52-1111-4c1e-9a55-6f1df5b0c001"),
    username="agent.one",
    role=Role.AGENT,
    method=AuthMethod.TOKEN,
    session_ref="token:0123456789abcdef",
    ip_prefix="10.20.30.0/24",
)


def test_seq_and_hash_are_assigned_at_commit_and_verify(
    db: Database, signer: Ed25519Signer, seed_chain: Callable[..., object]
) -> None:
    with db.unit_of_work() as session:
        first = record(session, actor=AGENT, action=AuditAction.CASE_VIEWED, target_type="case", target_id="CV-1")
        assert first.seq is None
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    seed_chain(db, 5)
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok, report.message
    assert (report.events_checked, report.head_seq, report.problem) == (6, 6, None)
    with db.sessions() as session:
        assert session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all() == [1, 2, 3, 4, 5, 6]
        assert session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 6)).hex() == report.head_hash


def test_rollback_discards_staged_events_without_a_gap(db: Database, signer: Ed25519Signer) -> None:
    def failing_request() -> None:
        with db.unit_of_work() as session:
            record(session, actor=AGENT, action=AuditAction.CASE_VIEWED)
            raise RuntimeError("request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    session = db.sessions()
    record(session, actor=AGENT, action=AuditAction.CASE_VIEWED)
    session.close()  # closed without commit
    with db.unit_of_work() as session:
        record(session, actor=AGENT, action=AuditAction.CASE_CREATED)
    with db.sessions() as session:
        rows = session.execute(select(AuditEvent.seq, AuditEvent.action)).all()
    assert [tuple(row) for row in rows] == [(1, "case.created")]
    assert verify(db.engine, keys=[signer.public_key]).ok


def test_own_events_are_visible_inside_the_transaction(db: Database) -> None:
    customer = uuid.uuid4()
    with db.unit_of_work() as session:
        event = record(
            session,
            actor=AGENT,
            action=AuditAction.CUSTOMER_VIEWED,
            subjects=[Subject(customer, None, Exposure.OPENED)],
        )
        exposed = session.scalars(select(AuditSubject.event_seq).where(AuditSubject.customer_id == customer)).all()
        assert exposed == [1]
        assert event.seq == 1
        # A second batch in the same transaction continues the chain.
        later = record(session, actor=AGENT, action=AuditAction.CUSTOMER_VIEWED)
    assert later.seq == 2
    assert later.prev_hash == event.hash


def test_record_many_appends_in_order(db: Database, signer: Ed25519Signer) -> None:
    customers = [uuid.uuid4() for _ in range(300)]
    with db.unit_of_work() as session:
        count = record_many(
            session,
            (
                AuditEntry(
                    actor=AGENT,
                    action=AuditAction.CASE_LISTED,
                    subjects=[Subject(customer, None, Exposure.LISTED)],
                    reason='tab\tnewline\n backslash \\ quote " é',
                    detail={"page": index, "note": "\\N é\t"},
                )
                for index, customer in enumerate(customers)
            ),
        )
    assert count == 300
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditSubject)) == 300
        last = session.scalars(select(AuditEvent).where(AuditEvent.seq == 300)).one()
        assert last.detail == {"page": 299, "note": "\\N é\t"}
        assert last.reason == 'tab\tnewline\n backslash \\ quote " é'
    assert verify(db.engine, keys=[signer.public_key], chunk_size=64).events_checked == 300


def test_awkward_text_round_trips_and_verifies(db: Database, signer: Ed25519Signer) -> None:
    actor = Actor(staff_id=None, username='ünïcødé "quoted" \\ 🙂', role=None, method=AuthMethod.SYSTEM)
    with db.unit_of_work() as session:
        record(
            session,
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            reason="line one\nline two\ttab — ümlaut 𝔘 " + "x" * 400,
            target_type="a (b), c",
            target_id='\x0b\x0c\u00a0\u2003\u3000 \\ "',
            fields=["name", "émail"],
            detail={"z": [1, 2.5, None, True], "a": {"nested": "ü\u0001"}, "": ""},
        )
        # Empty strings and NULLs are distinct in the encoding.
        record(session, actor=AGENT, action=AuditAction.CASE_VIEWED, reason="", target_type="", target_id=None)
    with db.sessions() as session:
        stored = session.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
    assert stored.reason is not None
    assert len(stored.reason) == 200  # clipped to the column before hashing, on both databases
    assert stored.detail == {"": "", "a": {"nested": "ü\u0001"}, "z": [1, 2.5, None, True]}
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok, report.message
    # PostgreSQL: the SQL-built text hashed in Python gives the same answer as hashing in the server.
    assert verify(db.engine, keys=[signer.public_key], client_hashing=True) == report


def test_detail_must_be_json(sqlite_database: str) -> None:
    db = Database(sqlite_database)
    with db.sessions() as session, pytest.raises(TypeError):
        record(session, actor=AGENT, action=AuditAction.CASE_VIEWED, detail={"when": datetime.now(UTC)})


def _event() -> AuditEvent:
    return AuditEvent(
        seq=7,
        encoding=1,
        occurred_at=datetime(2026, 11, 22, 16, 0, 0, 123456, tzinfo=UTC),
        actor_id=AGENT.staff_id,
        actor_label="agent.one",
        session_ref="token:0123456789abcdef",
        ip_prefix="10.20.30.0/24",
        action="case.viewed",
        outcome="allowed",
        reason="triage",
        target_type="case",
        target_id="CV-2026-000001",
        fields=["description"],
        detail={"route": "/cases/{number}"},
        prev_hash=b"\x01" * 32,
        hash=b"",
    )


# One edit per stored column; the test fails if a column is added without being covered by the hash.
_EDITS = {
    "seq": 8,
    "encoding": 2,
    "occurred_at": datetime(2026, 11, 22, 16, 0, 0, 123457, tzinfo=UTC),
    "actor_id": uuid.uuid4(),
    "actor_label": "agent.two",
    "session_ref": "token:ffffffffffffffff",
    "ip_prefix": "10.20.31.0/24",
    "action": "case.listed",
    "outcome": "denied",
    "reason": None,
    "target_type": "note",
    "target_id": "CV-2026-000002",
    "fields": ["description", "notes"],
    "detail": {"route": "/cases"},
}


def test_digest_covers_every_column_and_the_subjects() -> None:
    columns = {column.key for column in AuditEvent.__table__.columns} - {"prev_hash", "hash"}
    assert set(_EDITS) == columns
    subjects = [Subject(uuid.uuid4(), uuid.uuid4(), Exposure.OPENED), Subject(uuid.uuid4(), None, Exposure.LISTED)]
    base = event_digest(b"\x01" * 32, _event(), subjects)
    assert event_digest(b"\x02" * 32, _event(), subjects) != base
    for name, value in _EDITS.items():
        edited = _event()
        setattr(edited, name, value)
        if name == "encoding":
            with pytest.raises(ValueError, match="unknown audit encoding"):
                event_digest(b"\x01" * 32, edited, subjects)
            continue
        assert event_digest(b"\x01" * 32, edited, subjects) != base, name
    # Subjects are a set: their order does not matter, their content does.
    assert event_digest(b"\x01" * 32, _event(), subjects[::-1]) == base
    assert event_digest(b"\x01" * 32, _event(), subjects[:1]) != base
    changed = [Subject(subjects[0].customer_id, subjects[0].case_id, Exposure.REVEALED), subjects[1]]
    assert event_digest(b"\x01" * 32, _event(), changed) != base


def test_stored_hashes_equal_the_python_encoding(db: Database) -> None:
    """PostgreSQL hashes a request's events in the database (ADR 0457); Python hashes bulk appends and SQLite's.
    Both must give the same bytes, or a chain mixing them would not verify."""
    subjects = [
        Subject(uuid.UUID(int=3), None, Exposure.LISTED),
        Subject(uuid.UUID(int=1), uuid.UUID(int=2), Exposure.OPENED),
        Subject(None, uuid.UUID(int=4), Exposure.WRITTEN),
    ]
    with db.unit_of_work() as session:
        record(
            session,
            actor=AGENT,
            action=AuditAction.CASE_VIEWED,
            reason='a "quoted", (parenthesised) reason \\ ü',
            target_type="case",
            target_id="CV-2026-000001",
            subjects=subjects,
            fields=["subject", "émail"],
            detail={"via": "assignee", "n": [1, 2.5, None]},
        )
        record(session, actor=Actor.system("anonymous"), action=AuditAction.ACCESS_DENIED, reason="")
    with db.sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        stored_subjects = {
            seq: [Subject(row.customer_id, row.case_id, Exposure(row.exposure)) for row in rows]
            for seq in {event.seq for event in events}
            for rows in [session.scalars(select(AuditSubject).where(AuditSubject.event_seq == seq)).all()]
        }
    assert [len(stored_subjects[event.seq]) for event in events] == [3, 0]
    prev = GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == event_digest(prev, event, stored_subjects[event.seq])
        prev = event.hash
