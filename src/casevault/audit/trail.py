"""Writing audit events. Every protected read and every write calls record() in the same transaction.

record() stages the event on the session; the events are chained (seq, prev_hash, hash) and inserted when the
transaction commits, under a lock on the chain head (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
database write lock). Holding the lock only for the few statements at commit keeps appends serialised without
serialising whole requests, and a transaction never waits for the audit lock while holding it and needing a row
lock someone else holds (see docs/adr/0300-audit-chain-append-at-commit.md). Querying the audit tables in the
same transaction chains the staged events first, so callers always see their own events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from casevault.access.actor import Actor
from casevault.audit.encoding import (
    ENCODING_VERSION,
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    encode_event,
    encode_subject,
)
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.models import AuditEvent, AuditSubject
from casevault.db.base import utcnow

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "ChainHead",
    "Subject",
    "append_pending",
    "chain_head",
    "event_digest",
    "lock_chain",
    "record",
    "record_many",
]

# Key of the PostgreSQL advisory lock that serialises appends ("cvaudit" in ASCII).
CHAIN_LOCK_KEY = 0x63766175646974
_PENDING = "casevault.audit.pending"
AFTER_APPEND = "casevault.audit.after_append"

# Column sizes: values are clipped before hashing so both databases store (and hash) the same text.
_LIMITS = {"actor_label": 64, "session_ref": 64, "ip_prefix": 64, "reason": 200, "target_type": 32, "target_id": 64}


@dataclass(frozen=True, slots=True)
class Subject:
    """A customer (and optionally case) an event exposed to the actor."""

    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None = None
    exposure: Exposure = Exposure.OPENED


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event for record_many(); the same fields as record()'s keywords."""

    actor: Actor
    action: AuditAction
    outcome: Outcome = Outcome.ALLOWED
    target_type: str | None = None
    target_id: str | None = None
    subjects: Sequence[Subject] = ()
    fields: Sequence[str] = ()
    reason: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last event of the chain (seq 0 and the genesis hash when it is empty)."""

    seq: int
    hash: bytes


class _Staged:
    """An event waiting for its place in the chain; `event` is the object record() returned, if any."""

    __slots__ = ("detail_json", "event", "fields_json", "subjects", "values")

    def __init__(
        self,
        values: dict[str, Any],
        fields_json: str,
        detail_json: str,
        subjects: tuple[Subject, ...],
        event: AuditEvent | None,
    ) -> None:
        self.values = values
        self.fields_json = fields_json
        self.detail_json = detail_json
        self.subjects = subjects
        self.event = event


@lru_cache(maxsize=1024)
def _fields_json(fields: tuple[str, ...]) -> str:
    # Call sites pass a handful of distinct field lists; encoding each once is enough.
    return canonical_json(list(fields))


def _clip(name: str, value: str | None) -> str | None:
    return None if value is None else value[: _LIMITS[name]]


def _stage(
    actor: Actor,
    action: AuditAction,
    outcome: Outcome,
    target_type: str | None,
    target_id: str | None,
    subjects: Iterable[Subject],
    fields: Sequence[str],
    reason: str | None,
    detail: Mapping[str, Any] | None,
    occurred_at: datetime,
) -> _Staged:
    fields_json = _fields_json(tuple(str(name) for name in fields))
    detail_json = canonical_json(dict(detail or {}))
    values: dict[str, Any] = {
        "occurred_at": occurred_at,
        "actor_id": actor.staff_id,
        "actor_label": _clip("actor_label", actor.username) or "",
        "session_ref": _clip("session_ref", actor.session_ref),
        "ip_prefix": _clip("ip_prefix", actor.ip_prefix),
        "action": str(AuditAction(action)),
        "outcome": str(Outcome(outcome)),
        "reason": _clip("reason", reason),
        "target_type": _clip("target_type", target_type),
        "target_id": _clip("target_id", target_id),
    }
    return _Staged(values, fields_json, detail_json, tuple(subjects), None)


def _pending(session: Session) -> list[_Staged]:
    if session.get_transaction() is None:
        # Begin now so that closing the session without a commit ends a transaction, which drops the events.
        session.begin()
    staged: list[_Staged] = session.info.setdefault(_PENDING, [])
    return staged


def record(
    session: Session,
    *,
    actor: Actor,
    action: AuditAction,
    outcome: Outcome = Outcome.ALLOWED,
    target_type: str | None = None,
    target_id: str | None = None,
    subjects: Iterable[Subject] = (),
    fields: Sequence[str] = (),
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction. Never pass PII in reason or detail.

    The returned event gets its `seq` and `hash` when the transaction commits (or when the transaction next
    queries the audit tables); it is discarded with the transaction if that rolls back.
    """
    staged = _stage(actor, action, outcome, target_type, target_id, subjects, fields, reason, detail, utcnow())
    event_row = AuditEvent(
        encoding=ENCODING_VERSION,
        fields=json.loads(staged.fields_json),
        detail=json.loads(staged.detail_json),
        **staged.values,
    )
    staged.event = event_row
    _pending(session).append(staged)
    return event_row


def record_many(session: Session, entries: Iterable[AuditEntry]) -> int:
    """Stage many events at once (bulk writers, imports); cheaper than record() per event. Returns the count."""
    now = utcnow()
    staged = [
        _stage(
            entry.actor,
            entry.action,
            entry.outcome,
            entry.target_type,
            entry.target_id,
            entry.subjects,
            entry.fields,
            entry.reason,
            entry.detail,
            now,
        )
        for entry in entries
    ]
    _pending(session).extend(staged)
    return len(staged)


def lock_chain(session: Session) -> ChainHead:
    """Take the chain lock for the rest of the transaction and return the committed head."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    elif dialect == "sqlite":
        # pysqlite opens its transaction lazily at the first write; take the write lock before reading the head
        # so no other writer can append between our read and our insert.
        raw: Any = session.connection().connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")
    return chain_head(session)


_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
_PG_HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"


def _lock_chain_postgresql(connection: Connection) -> ChainHead:
    """lock_chain() on PostgreSQL straight on the driver: the lock, then the head read, on one cursor.

    The head read starts only once the lock is granted, so in READ COMMITTED it sees the previous holder's
    commit (ADR 0300). Two plain round trips cost less CPU and time on loopback than one psycopg pipeline
    (ADR 0305).
    """
    raw: Any = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute(_PG_LOCK_SQL, (CHAIN_LOCK_KEY,))
        cursor.execute(_PG_HEAD_SQL)
        row = cursor.fetchone()
    return ChainHead(0, GENESIS_HASH) if row is None else ChainHead(int(row[0]), bytes(row[1]))


def chain_head(session: Session) -> ChainHead:
    """The last committed event visible to this transaction."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return ChainHead(0, GENESIS_HASH) if row is None else ChainHead(int(row[0]), bytes(row[1]))


_PG_EVENTS_COPY = (
    "COPY audit_events (seq, encoding, occurred_at, actor_id, actor_label, session_ref, ip_prefix, action, outcome, "
    "reason, target_type, target_id, fields, detail, prev_hash, hash) FROM STDIN"
)
_PG_SUBJECTS_COPY = "COPY audit_subjects (event_seq, customer_id, case_id, exposure) FROM STDIN"
# Commits carrying at least this many events are hashed here and COPYed (bulk writers); fewer go to the database's
# append function in one call (requests append a few).
_PG_COPY_FROM = 64
_SQLITE_EVENTS_SQL = (
    "INSERT INTO audit_events (seq, encoding, occurred_at, actor_id, actor_label, session_ref, ip_prefix, action, "
    "outcome, reason, target_type, target_id, fields, detail, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_SUBJECTS_SQL = "INSERT INTO audit_subjects (event_seq, customer_id, case_id, exposure) VALUES (?, ?, ?, ?)"


def _sqlite_value(value: Any) -> Any:
    # The storage forms SQLAlchemy's Uuid and DateTime types use on SQLite, so ORM reads see the same values.
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _insert(connection: Connection, events: list[tuple[Any, ...]], subjects: list[tuple[Any, ...]]) -> None:
    """Straight on the driver: this is the hot path of every request, and the rows are already final."""
    raw: Any = connection.connection.dbapi_connection
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Bulk writers only (requests go through _append_in_database): COPY is several times cheaper per row on the
        # server than INSERT.
        with raw.cursor() as cursor:
            with cursor.copy(_PG_EVENTS_COPY) as copy:
                for row in events:
                    copy.write_row(row)
            if subjects:
                with cursor.copy(_PG_SUBJECTS_COPY) as copy:
                    for row in subjects:
                        copy.write_row(row)
    elif dialect == "sqlite":
        cursor = raw.cursor()
        try:
            cursor.executemany(_SQLITE_EVENTS_SQL, [tuple(map(_sqlite_value, row)) for row in events])
            if subjects:
                cursor.executemany(_SQLITE_SUBJECTS_SQL, [tuple(map(_sqlite_value, row)) for row in subjects])
        finally:
            cursor.close()
    else:  # pragma: no cover - casevault supports SQLite and PostgreSQL only
        raise NotImplementedError(f"audit storage on {dialect}")


@lru_cache(maxsize=65536)
def _subject_text(customer_id: uuid.UUID | None, case_id: uuid.UUID | None, exposure: str) -> str:
    # The same customers and cases recur across events; str(UUID) is the costly part.
    return encode_subject(customer_id, case_id, exposure)


def append_pending(session: Session) -> ChainHead | None:
    """Chain and insert the events staged on this session now; returns the new head, or None if none were staged."""
    staged: list[_Staged] | None = session.info.pop(_PENDING, None)
    if not staged:
        return None
    # Pending ORM writes go first, as an ORM query would autoflush them: the chain lock is held as briefly as it
    # can be, and never while waiting for a row lock (ADR 0300).
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(staged) < _PG_COPY_FROM:
        before, head = _append_in_database(connection, staged)
    else:
        before, head = _append_here(session, connection, staged)
    after_append: Callable[[Session, ChainHead, ChainHead], None] | None = session.info.get(AFTER_APPEND)
    if after_append is not None:
        after_append(session, before, head)
    return head


# One call does what _append_here does on PostgreSQL: lock, head read, hashes, inserts (migration 0011, ADR 0457).
_PG_APPEND_SQL = (
    "SELECT event_seq, event_prev_hash, event_hash FROM casevault_audit_append("
    "%s, %s, %s, %s::timestamptz[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::integer[], %s::uuid[], %s::uuid[], %s::text[])"
)


def _append_in_database(connection: Connection, staged: list[_Staged]) -> tuple[ChainHead, ChainHead]:
    """Chain and insert a request's few events in one round trip; the database hashes them (encoding v1)."""
    columns: list[list[Any]] = [[] for _ in range(12)]
    subject_columns: list[list[Any]] = [[], [], [], []]
    for index, item in enumerate(staged, start=1):
        v = item.values
        for column, value in zip(
            columns,
            (
                v["occurred_at"], v["actor_id"], v["actor_label"], v["session_ref"], v["ip_prefix"], v["action"],
                v["outcome"], v["reason"], v["target_type"], v["target_id"], item.fields_json, item.detail_json,
            ),
            strict=True,
        ):  # fmt: skip
            column.append(value)
        for subject in item.subjects:
            subject_columns[0].append(index)
            subject_columns[1].append(subject.customer_id)
            subject_columns[2].append(subject.case_id)
            subject_columns[3].append(str(subject.exposure))
    raw: Any = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute(_PG_APPEND_SQL, (CHAIN_LOCK_KEY, ENCODING_VERSION, GENESIS_HASH, *columns, *subject_columns))
        rows = cursor.fetchall()
    if len(rows) != len(staged):  # pragma: no cover - the function returns one row per event or raises
        raise RuntimeError("audit append returned an unexpected number of events")
    for item, (seq, prev, digest) in zip(staged, rows, strict=True):
        if item.event is not None:
            item.event.seq, item.event.prev_hash, item.event.hash = int(seq), bytes(prev), bytes(digest)
    first, last = rows[0], rows[-1]
    return ChainHead(int(first[0]) - 1, bytes(first[1])), ChainHead(int(last[0]), bytes(last[2]))


def _append_here(session: Session, connection: Connection, staged: list[_Staged]) -> tuple[ChainHead, ChainHead]:
    """Lock, read the head, hash in Python and insert (SQLite; COPY for bulk writers on PostgreSQL)."""
    before = _lock_chain_postgresql(connection) if connection.dialect.name == "postgresql" else lock_chain(session)
    seq, prev = before.seq, before.hash
    event_rows: list[tuple[Any, ...]] = []
    subject_rows: list[tuple[Any, ...]] = []
    for item in staged:
        seq += 1
        v = item.values
        payload = encode_event(
            version=ENCODING_VERSION,
            seq=seq,
            fields_json=item.fields_json,
            detail_json=item.detail_json,
            subjects=[_subject_text(s.customer_id, s.case_id, str(s.exposure)) for s in item.subjects],
            **v,
        )
        digest = chain_hash(prev, payload)
        event_rows.append(
            (
                seq, ENCODING_VERSION, v["occurred_at"], v["actor_id"], v["actor_label"], v["session_ref"],
                v["ip_prefix"], v["action"], v["outcome"], v["reason"], v["target_type"], v["target_id"],
                item.fields_json, item.detail_json, prev, digest,
            )
        )  # fmt: skip
        subject_rows.extend((seq, s.customer_id, s.case_id, str(s.exposure)) for s in item.subjects)
        if item.event is not None:
            item.event.seq, item.event.prev_hash, item.event.hash = seq, prev, digest
        prev = digest
    _insert(connection, event_rows, subject_rows)
    return before, ChainHead(seq, prev)


def event_digest(prev_hash: bytes, event: AuditEvent, subjects: Sequence[Subject]) -> bytes:
    """The chain hash of `event` (with its seq set) after `prev_hash`; the reference verify() checks against."""
    payload = encode_event(
        version=event.encoding or ENCODING_VERSION,
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        session_ref=event.session_ref,
        ip_prefix=event.ip_prefix,
        action=event.action,
        outcome=event.outcome,
        reason=event.reason,
        target_type=event.target_type,
        target_id=event.target_id,
        fields_json=canonical_json(list(event.fields)),
        detail_json=canonical_json(event.detail),
        subjects=[encode_subject(s.customer_id, s.case_id, str(s.exposure)) for s in subjects],
    )
    return chain_hash(prev_hash, payload)


@event.listens_for(Session, "before_commit")
def _chain_before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        append_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_on_rollback(session: Session, transaction: SessionTransaction) -> None:
    # Staged events live and die with the outermost transaction.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _chain_before_audit_query(state: ORMExecuteState) -> None:
    if not state.session.info.get(_PENDING) or not state.is_select:
        return
    if any(mapper.class_ in (AuditEvent, AuditSubject) for mapper in state.all_mappers):
        append_pending(state.session)
