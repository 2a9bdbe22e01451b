"""Verifying the audit chain: every hash recomputed, every link and checkpoint checked, in constant memory.

The chain is read in seq ranges (keyset chunks) by worker threads with their own connections, two chunks at a
time. On PostgreSQL the server builds each event's canonical text with `ROW(...)::text` (which is what
encoding.encode_event produces), hashes it and checks links and steps, returning only chunk boundaries and
failing rows; with `client_hashing` it returns every row's text and Python hashes. On SQLite Python does it all
from the raw stored text. See docs/adr/0303-audit-encoding-and-verify-in-database.md.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, Text, func, select, type_coerce

from casevault.audit.checkpoints import signature_valid, trusted_keys
from casevault.audit.encoding import ENCODING_VERSION, GENESIS_HASH, chain_hash, encode_event, encode_subject
from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject

__all__ = ["Problem", "VerifyReport", "verify"]

# Rows kept around the first failure to tell a reordering from an edit.
_WINDOW = 256


class Problem(StrEnum):
    """What kind of tampering verify() found."""

    EDITED = "edited"  # an event's content or hash no longer matches the chain
    DELETED = "deleted"  # a seq is missing (gap)
    REORDERED = "reordered"  # events link to something other than their predecessor
    TRUNCATED = "truncated"  # the chain ends before a signed checkpoint
    BAD_SIGNATURE = "bad_checkpoint_signature"  # a checkpoint is not signed by a trusted key


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verify(); `first_bad_seq` is the earliest event the problem concerns."""

    ok: bool
    events_checked: int
    head_seq: int
    head_hash: str
    checkpoints_checked: int
    latest_checkpoint_seq: int | None
    problem: Problem | None = None
    first_bad_seq: int | None = None
    message: str = "chain intact"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (API, CLI --json)."""
        return asdict(self)


# One checked row: seq, stored prev_hash, stored hash, whether the stored hash matches the recomputed one, then
# (PostgreSQL scan only) whether prev_hash equals the previous row's hash and the seq step from the previous row
# (None on a chunk's first row, where the caller checks the link), and the row's position in its chunk.
_Row = tuple[int, bytes, bytes, bool, bool | None, int | None, int]


_SUBJECT_SQL = "ROW(customer_id, case_id, exposure)::text"
# encoding.encode_event v1 is exactly this row literal (tests check the two agree on PostgreSQL).
_PAYLOAD_SQL = (
    "ROW(e.encoding, e.seq, e.occurred_at, e.actor_id, e.actor_label, e.session_ref, e.ip_prefix, e.action, "
    "e.outcome, e.reason, e.target_type, e.target_id, e.fields, e.detail, coalesce(subj.n, 0), "
    "coalesce(subj.body, ''))::text"
)
# Subjects are concatenated in byte order of their encoding. One sort of the sub-select feeds the aggregate
# (no parallel plan, so input order is kept); string_agg(... ORDER BY ...) would sort each event's group
# separately and cost about twice as much. A misordering could only cause a false alarm, never hide a change.
_SUBJECTS_CTE = f"""
WITH subj AS (
    SELECT event_seq, count(*) AS n, string_agg(enc, '') AS body
    FROM (SELECT event_seq, ({_SUBJECT_SQL}) COLLATE "C" AS enc FROM audit_subjects
          WHERE event_seq > %(lo)s AND event_seq <= %(hi)s ORDER BY event_seq, enc) AS s
    GROUP BY event_seq
)"""  # noqa: S608 (built from constants only; values are bound parameters)
_FROM_SQL = """
FROM audit_events e LEFT JOIN subj ON subj.event_seq = e.seq
WHERE e.seq > %(lo)s AND e.seq <= %(hi)s"""

# Every row with its canonical text; Python hashes (windows around a failure, and client_hashing=True).
_PG_ROWS_SQL = f"""{_SUBJECTS_CTE}
SELECT e.seq, e.prev_hash, e.hash, e.encoding, {_PAYLOAD_SQL} AS payload {_FROM_SQL}
ORDER BY e.seq"""

# The server hashes every row and checks every link and step; only a chunk's first and last rows, rows at a
# checkpoint and failing rows come back, so Python's work per chunk is constant.
_PG_SCAN_SQL = f"""{_SUBJECTS_CTE},
checked AS (
    SELECT e.seq, e.prev_hash, e.hash,
        e.encoding = {ENCODING_VERSION}
            AND pg_catalog.sha256(e.prev_hash || convert_to({_PAYLOAD_SQL}, 'UTF8')) = e.hash AS content_ok,
        e.prev_hash = lag(e.hash) OVER w AS linked,
        e.seq - lag(e.seq) OVER w AS step,
        lead(e.seq) OVER w AS next_seq,
        row_number() OVER w AS position
    {_FROM_SQL}
    WINDOW w AS (ORDER BY e.seq)
)
SELECT seq, prev_hash, hash, content_ok, linked, step, position FROM checked
WHERE step IS NULL OR next_seq IS NULL OR NOT content_ok OR NOT linked OR step <> 1
    OR seq = ANY(%(checkpoints)s::bigint[])
ORDER BY seq"""  # noqa: S608 (built from constants only; values are bound parameters)


def _pg_cursor(connection: Connection) -> Any:
    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor()
    # Chunks already run in parallel; a parallel plan per chunk would repeat the subjects aggregate per worker.
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    # The text form of timestamptz depends on these two settings; encode_event uses UTC and ISO.
    cursor.execute("SET LOCAL TimeZone = 'UTC'")
    cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    return cursor


def _fetch_postgresql_rows(connection: Connection, lo: int, hi: int, _checkpoints: list[int]) -> list[_Row]:
    with _pg_cursor(connection) as cursor:
        cursor.execute(_PG_ROWS_SQL, {"lo": lo, "hi": hi})
        rows = cursor.fetchall()
    return [
        (
            seq,
            prev,
            stored,
            encoding == ENCODING_VERSION and chain_hash(prev, payload.encode("utf-8")) == stored,
            None,
            None,
            position,
        )
        for position, (seq, prev, stored, encoding, payload) in enumerate(rows, start=1)
    ]


def _scan_postgresql(connection: Connection, lo: int, hi: int, checkpoints: list[int]) -> list[_Row]:
    with _pg_cursor(connection) as cursor:
        cursor.execute(_PG_SCAN_SQL, {"lo": lo, "hi": hi, "checkpoints": checkpoints})
        rows = cursor.fetchall()
    return [
        (seq, prev, stored, bool(content_ok), linked, step, position)
        for seq, prev, stored, content_ok, linked, step, position in rows
    ]


def _sqlite_uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(hex=str(value))


def _sqlite_time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _fetch_sqlite(connection: Connection, lo: int, hi: int, _checkpoints: list[int]) -> list[_Row]:
    # Raw stored text (no type processing), so a tampered value cannot make the fetch itself fail.
    e, s = AuditEvent.__table__.c, AuditSubject.__table__.c
    subjects: defaultdict[int, list[str]] = defaultdict(list)
    subject_rows = connection.execute(
        select(s.event_seq, type_coerce(s.customer_id, Text), type_coerce(s.case_id, Text), s.exposure).where(
            s.event_seq > lo, s.event_seq <= hi
        )
    )
    for event_seq, customer_id, case_id, exposure in subject_rows:
        try:
            subjects[int(event_seq)].append(encode_subject(_sqlite_uuid(customer_id), _sqlite_uuid(case_id), exposure))
        except (TypeError, ValueError):
            subjects[int(event_seq)].append("\x00unreadable")
    columns = (
        e.seq, e.prev_hash, e.hash, e.encoding, type_coerce(e.occurred_at, Text), type_coerce(e.actor_id, Text),
        e.actor_label, e.session_ref, e.ip_prefix, e.action, e.outcome, e.reason, e.target_type, e.target_id,
        type_coerce(e.fields, Text), type_coerce(e.detail, Text),
    )  # fmt: skip
    result: list[_Row] = []
    rows = connection.execute(select(*columns).where(e.seq > lo, e.seq <= hi).order_by(e.seq))
    for position, row in enumerate(rows, start=1):
        seq, prev, stored, encoding = int(row[0]), bytes(row[1]), bytes(row[2]), row[3]
        try:
            payload = encode_event(
                version=int(encoding),
                seq=seq,
                occurred_at=_sqlite_time(row[4]),
                actor_id=_sqlite_uuid(row[5]),
                actor_label=row[6],
                session_ref=row[7],
                ip_prefix=row[8],
                action=row[9],
                outcome=row[10],
                reason=row[11],
                target_type=row[12],
                target_id=row[13],
                fields_json=row[14],
                detail_json=row[15],
                subjects=subjects.get(seq, ()),
            )
            matches = chain_hash(prev, payload) == stored
        except (TypeError, ValueError):
            matches = False
        result.append((seq, prev, stored, matches, None, None, position))
    return result


_Fetch = Callable[[Connection, int, int, list[int]], list[_Row]]


def _fetcher(engine: Engine, *, client_hashing: bool) -> _Fetch:
    if engine.dialect.name == "postgresql":
        return _fetch_postgresql_rows if client_hashing else _scan_postgresql
    return _fetch_sqlite


def _chunks(
    engine: Engine, fetch: _Fetch, head: int, chunk_size: int, workers: int, checkpoints: list[int]
) -> Generator[tuple[int, list[_Row]]]:
    """(rows in the chunk's seq range, checked rows) per chunk, in order, fetched `workers` at a time."""

    def job(lo: int) -> tuple[int, list[_Row]]:
        hi = min(lo + chunk_size, head)
        with engine.connect() as connection, connection.begin():
            return hi - lo, fetch(connection, lo, hi, [seq for seq in checkpoints if lo < seq <= hi])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit-verify") as pool:
        window: deque[Future[tuple[int, list[_Row]]]] = deque()
        starts = iter(range(0, head, chunk_size))
        try:
            for lo in starts:
                window.append(pool.submit(job, lo))
                if len(window) > workers:
                    break
            while window:
                chunk = window.popleft().result()
                next_lo = next(starts, None)
                if next_lo is not None:
                    window.append(pool.submit(job, next_lo))
                yield chunk
        finally:
            # The caller may stop early (tampering found): drop the chunks not yet started.
            for pending in window:
                pending.cancel()


def _reordered(engine: Engine, around: int) -> bool:
    """True if some event near `around` links to an event that is not its predecessor (what swaps leave)."""
    fetch = _fetcher(engine, client_hashing=True)
    with engine.connect() as connection, connection.begin():
        rows = fetch(connection, max(0, around - _WINDOW), around + _WINDOW, [])
    seq_of_hash = {stored: seq for seq, _prev, stored, *_rest in rows}
    return any(prev in seq_of_hash and seq_of_hash[prev] != seq - 1 for seq, prev, *_rest in rows)


def verify(
    engine: Engine,
    *,
    keys: Iterable[Ed25519PublicKey],
    chunk_size: int = 50_000,
    workers: int = 2,
    client_hashing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Check the whole chain against its hashes and the checkpoints signed by `keys`; never raises on tampering.

    On PostgreSQL the server recomputes the hashes unless `client_hashing` is set, in which case it only
    formats each row and Python hashes it (slower; same result, see docs/adr/0303-audit-verify-in-database.md).
    """
    key_map = trusted_keys(keys)
    with engine.connect() as connection:
        # Checkpoints first, then the head: every checkpoint read is then covered by the events read.
        checkpoints = connection.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
        ).all()
        head = int(connection.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one())
    latest = max((int(cp.seq) for cp in checkpoints), default=None)

    def report(
        problem: Problem | None, bad: int | None, message: str, checked: int, seq: int, digest: bytes
    ) -> VerifyReport:
        return VerifyReport(
            ok=problem is None,
            events_checked=checked,
            head_seq=seq,
            head_hash=digest.hex(),
            checkpoints_checked=len(checkpoints),
            latest_checkpoint_seq=latest,
            problem=problem,
            first_bad_seq=bad,
            message=message,
        )

    expected: dict[int, bytes] = {}
    for cp in checkpoints:
        if not signature_valid(cp, key_map) or cp.event_count != cp.seq:
            return report(
                Problem.BAD_SIGNATURE, int(cp.seq), f"checkpoint at seq {cp.seq} is not signed by a trusted key",
                0, head, GENESIS_HASH,
            )  # fmt: skip
        expected[int(cp.seq)] = bytes(cp.head_hash)

    checked, last_seq, last_hash = 0, 0, GENESIS_HASH
    failure: tuple[Problem, int, str] | None = None
    chunks = _chunks(
        engine, _fetcher(engine, client_hashing=client_hashing), head, chunk_size, max(1, workers), sorted(expected)
    )
    try:
        for span, rows in chunks:
            base = checked
            for seq, prev, stored, content_ok, linked, step, position in rows:
                # Rows the server did not return between two returned rows passed every check.
                step_ok = seq == last_seq + 1 if step is None else step == 1
                link_ok = prev == last_hash if linked is None else linked
                if not step_ok:
                    missing = last_seq + 1 if step is None else seq - step + 1
                    failure = (Problem.DELETED, missing, f"events {missing}..{seq - 1} are missing")
                elif not content_ok:
                    failure = (Problem.EDITED, seq, f"event {seq} does not match its hash")
                elif not link_ok:
                    failure = (Problem.EDITED, seq - 1, f"event {seq} does not link to event {seq - 1}")
                elif seq in expected and expected[seq] != stored:
                    failure = (Problem.EDITED, seq, f"chain differs from the signed checkpoint at seq {seq}")
                checked = base + position
                last_seq, last_hash = seq, stored
                if failure is not None:
                    break
            if progress is not None:
                progress(span)
            if failure is not None:
                break
    finally:
        chunks.close()

    if failure is not None:
        problem, bad, message = failure
        if problem is Problem.EDITED and _reordered(engine, bad):
            problem, message = Problem.REORDERED, f"events around seq {bad} are out of order"
        return report(problem, bad, message, checked, last_seq, last_hash)
    if latest is not None and latest > last_seq:
        return report(
            Problem.TRUNCATED, last_seq + 1,
            f"chain ends at seq {last_seq} but a signed checkpoint covers seq {latest}", checked, last_seq, last_hash,
        )  # fmt: skip
    return report(None, None, "chain intact", checked, last_seq, last_hash)
