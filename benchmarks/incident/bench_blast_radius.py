"""Blast radius over a 100M-event audit trail on PostgreSQL: one actor, a 30-day window.

    .venv/bin/python benchmarks/incident/bench_blast_radius.py generate   # once (~30-60 min on 2 busy cores)
    .venv/bin/python benchmarks/incident/bench_blast_radius.py run        # as often as needed
    .venv/bin/python benchmarks/incident/bench_blast_radius.py drop       # at the end

The database (`cv_bench_incident`) is migrated with the real schema, then filled straight in SQL with
generate_series. What is synthetic, and why (docs/bench/incident.md):
- hashes are 1-byte placeholders and the chain is NOT valid: the benchmark measures the blast-radius query, not
  verify() (run with verification off, as `--no-verify` does);
- the tables are UNLOGGED while loading (no WAL: fits the disk budget and loads faster; reads are unaffected);
- indexes the query never uses (events by session_ref, subjects by id and by customer) and the
  subjects -> events foreign key are dropped to fit ~15 GB of disk; the two the query uses are built after loading;
- subjects exist for the last 10% of events (36.5 days, which covers the 30-day window) -- again for disk.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from casevault.access.actor import Actor
from casevault.access.rls import bind_actor
from casevault.db import Database
from casevault.db.migrate import upgrade
from casevault.incident import BlastModel, build_query, compute_blast_radius

ADMIN_DSN = os.environ.get("CASEVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NAME = "cv_bench_incident"
DSN = ADMIN_DSN.rsplit("/", 1)[0] + f"/{NAME}"
URL = DSN.replace("postgresql://", "postgresql+psycopg://", 1)
ACTORS = 1000
CUSTOMERS = 1_000_000
END = datetime(2026, 11, 1, tzinfo=UTC)
console = Console()

EVENTS_SQL = """
INSERT INTO audit_events (seq, encoding, occurred_at, actor_id, actor_label, session_ref, ip_prefix, action, outcome,
                          reason, target_type, target_id, fields, detail, prev_hash, hash)
SELECT i, 1,
       timestamptz '2025-11-01 00:00:00+00' + make_interval(secs => i * (31536000.0 / %(n)s)),
       md5('actor' || (i * 7919) %% 1000)::uuid,
       'agent' || (i * 7919) %% 1000,
       's' || (i * 7919) %% 1000 || '.' || (i * 365 / %(n)s),
       '10.0.' || (i * 7919) %% 256 || '.0/24',
       CASE WHEN i %% 100 < 10 THEN 'case.listed' WHEN i %% 100 < 12 THEN 'pii.revealed'
            WHEN i %% 100 < 17 THEN 'note.added' WHEN i %% 100 < 75 THEN 'case.viewed' ELSE 'signin.succeeded' END,
       CASE WHEN i %% 997 = 0 THEN 'denied' ELSE 'allowed' END,
       NULL, NULL, NULL,
       (CASE WHEN i %% 100 < 10 THEN '["subject"]' WHEN i %% 100 < 12 THEN '["email"]'
             WHEN i %% 100 < 17 THEN '["body"]' WHEN i %% 100 < 75 THEN '["description"]' ELSE '[]' END)::json,
       '{}'::json, '\\x00'::bytea, '\\x00'::bytea
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
"""

# Lists return five customers, every other exposing event one; customers are spread by a multiplicative hash.
SUBJECTS_SQL = """
INSERT INTO audit_subjects (event_seq, customer_id, case_id, exposure)
SELECT i, md5('cust' || c)::uuid, md5('case' || c)::uuid,
       CASE WHEN i %% 100 < 10 THEN 'listed' WHEN i %% 100 < 12 THEN 'revealed'
            WHEN i %% 100 < 17 THEN 'written' ELSE 'opened' END
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i,
     LATERAL (SELECT ((i * 104729) + k * 7907) %% 1000000 AS c
              FROM generate_series(0, CASE WHEN i %% 100 < 10 THEN 4 ELSE 0 END) AS k) AS listed
WHERE i %% 100 < 75
"""

REFERENCE_SQL = [
    """INSERT INTO organizations (id, name, country, sector, created_at)
       SELECT md5('org' || o)::uuid, 'Org ' || o,
              (ARRAY['US','US','US','US','GB','DE','CA','FR','NL','IN'])[1 + o %% 10],
              (ARRAY['it','it','it','it','it','finance','retail','health','education','government'])
                  [1 + (o / 10) %% 10],
              now()
       FROM generate_series(0, 999) AS o""",
    """INSERT INTO customers (id, reference, organization_id, country, name_sealed, email_sealed, email_index,
                              phone_sealed, created_at)
       SELECT md5('cust' || c)::uuid, 'CUST-' || lpad(c::text, 7, '0'), md5('org' || c %% 1000)::uuid,
              (ARRAY['US','US','US','US','GB','DE','CA','FR','NL','IN'])[1 + (c %% 1000) %% 10],
              '\\x00'::bytea, '\\x00'::bytea, decode(md5('e' || c), 'hex'), NULL, now()
       FROM generate_series(0, %(customers)s - 1) AS c""",
    "INSERT INTO queues (id, name, description) VALUES (md5('queue')::uuid, 'bench', '')",
    """INSERT INTO cases (id, number, customer_id, queue_id, status, priority, subject_sealed, subject_redacted,
                          description_sealed, description_redacted, created_at, updated_at)
       SELECT md5('case' || c)::uuid, 'CV-2026-' || lpad(c::text, 7, '0'), md5('cust' || c)::uuid,
              md5('queue')::uuid, 'open', 'normal', '\\x00'::bytea, 'subject', '\\x00'::bytea, 'description', now(),
              now()
       FROM generate_series(0, %(customers)s - 1) AS c""",
    """INSERT INTO staff (id, username, display_name, role, status, created_at)
       SELECT md5('actor' || a)::uuid, 'agent' || a, 'Agent ' || a, 'agent', 'active', now()
       FROM generate_series(0, 999) AS a""",
]


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _polite(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Lower the backend's CPU priority: the machine's two cores are shared."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()
    if pid is not None:
        subprocess.run(["renice", "-n", "15", "-p", str(pid[0])], check=False, capture_output=True)


def generate(events: int, chunk: int) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{NAME}"')
    db = Database(URL)
    upgrade(db)
    db.dispose()
    subjects_from = events - events // 10 + 1
    with psycopg.connect(DSN, autocommit=True) as conn:
        _polite(conn)
        for statement in (
            "ALTER TABLE audit_subjects DROP CONSTRAINT fk_audit_subjects_event_seq_audit_events",
            "ALTER TABLE audit_subjects DROP CONSTRAINT pk_audit_subjects",
            "DROP INDEX ix_audit_subjects_customer",
            "DROP INDEX ix_audit_subjects_event_seq",
            "ALTER TABLE audit_events DROP CONSTRAINT pk_audit_events",
            "DROP INDEX ix_audit_events_actor_time",
            "DROP INDEX ix_audit_events_session_ref",
            "ALTER TABLE audit_subjects SET UNLOGGED",
            "ALTER TABLE audit_events SET UNLOGGED",
        ):
            conn.execute(statement)  # type: ignore[arg-type]
        for statement in REFERENCE_SQL:
            conn.execute(statement, {"customers": CUSTOMERS})  # type: ignore[arg-type]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("audit events", total=events)
            for lo in range(1, events + 1, chunk):
                hi = min(events, lo + chunk - 1)
                conn.execute(EVENTS_SQL, {"n": events, "lo": lo, "hi": hi})  # type: ignore[arg-type]
                if hi >= subjects_from:
                    conn.execute(SUBJECTS_SQL, {"lo": max(lo, subjects_from), "hi": hi})  # type: ignore[arg-type]
                progress.update(task, completed=hi)
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        # The chain head (ORDER BY seq DESC LIMIT 1) needs the primary key; the report needs the other two.
        conn.execute("ALTER TABLE audit_events ADD CONSTRAINT pk_audit_events PRIMARY KEY (seq)")
        conn.execute("CREATE INDEX ix_audit_events_actor_time ON audit_events (actor_id, occurred_at)")
        # As migration 0008 ships it: the columns the report reads ride along in the index (ADR 0601).
        conn.execute(
            "CREATE INDEX ix_audit_subjects_event_seq ON audit_subjects (event_seq)"
            " INCLUDE (customer_id, case_id, exposure)"
        )
        console.print(f"indexes built in {time.perf_counter() - started:.0f} s")
        conn.execute("VACUUM (ANALYZE) audit_events")
        conn.execute("VACUUM (ANALYZE) audit_subjects")
        conn.execute("ANALYZE")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database())), (SELECT count(*) FROM audit_subjects)"
        ).fetchone()
    console.print(f"generated {events:,} events; database size {sizes}")


def _time_report(db: Database, model: BlastModel, actor: str, since: datetime, until: datetime) -> tuple[float, int]:
    with db.sessions() as session:
        # As `casevault incident blast-radius` runs it: the operator's CLI transaction (migration 0009's read path).
        bind_actor(session, Actor.cli("bench"))
        started = time.perf_counter()
        query = build_query(session, actor_name=actor, model=model, since=since, until=until)
        report = compute_blast_radius(session, query)
        elapsed = time.perf_counter() - started
        session.rollback()
    return elapsed, len(report.customers)


PLAIN_SQL = (
    "SELECT s.customer_id, s.exposure, count(*) "
    "FROM audit_events e JOIN audit_subjects s ON s.event_seq = e.seq "
    "WHERE e.actor_id = md5('actor' || %s)::uuid AND e.occurred_at >= %s AND e.occurred_at < %s "
    "AND e.outcome = 'allowed' GROUP BY 1, 2"
)


def _without_index(actor: str, since: datetime, until: datetime) -> float:
    """The core join with index scans disabled: what the query costs without ix_audit_events_actor_time."""
    with psycopg.connect(DSN) as conn:
        _polite(conn)
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        started = time.perf_counter()
        conn.execute(PLAIN_SQL, (actor.removeprefix("agent"), since, until)).fetchall()  # type: ignore[arg-type]
        return time.perf_counter() - started


def run(runs: int, actors: list[str], out: str | None, seqscan_anchor: bool) -> None:
    actor = actors[0]
    db = Database(URL)
    until = END
    since = END - timedelta(days=30)
    results: dict[str, dict[str, object]] = {}
    with psycopg.connect(DSN) as conn:
        count = conn.execute("SELECT max(seq) FROM audit_events").fetchone()
        plan = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + PLAIN_SQL,  # type: ignore[arg-type]
            (actor.removeprefix("agent"), since, until),
        ).fetchall()
    for who in actors:
        for model in (BlastModel.ACCOUNT, BlastModel.SCREEN):
            times: list[float] = []
            customers = 0
            for _ in range(runs):
                elapsed, customers = _time_report(db, model, who, since, until)
                times.append(elapsed)
            key = f"{who}/{model}"
            results[key] = {
                "first_s": round(times[0], 3),
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "max_s": round(max(times), 3),
                "customers": customers,
            }
            console.print(f"{key}: {results[key]}")
    # Anchor in the same run: one day of the same actor (the cost should scale with the window, not the table).
    day_times = [_time_report(db, BlastModel.ACCOUNT, actor, END - timedelta(days=1), END)[0] for _ in range(runs)]
    anchor = statistics.median(day_times)
    load = os.getloadavg()
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "events": count[0] if count else None,
        "actors": actors,
        "window": [since.isoformat(), until.isoformat()],
        "runs": runs,
        "results": results,
        "anchor_one_day_median_s": round(anchor, 3),
        "ratio_30d_to_1d": round(float(results[f"{actor}/account"]["median_s"]) / anchor, 1),  # type: ignore[arg-type]
        "operator": getpass.getuser(),
        "plan": [str(row[0]) for row in plan],
    }
    if seqscan_anchor:
        without = _without_index(actor, since, until)
        summary["without_index_s"] = round(without, 2)
        summary["index_speedup"] = round(without / float(results[f"{actor}/account"]["median_s"]), 0)  # type: ignore[arg-type]
    if out:
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
    console.print_json(json.dumps({k: v for k, v in summary.items() if k != "plan"}))
    console.print("\n".join(str(row[0]) for row in plan), soft_wrap=True, highlight=False)
    db.dispose()


def covering(*, on: bool) -> None:
    """The alternative measured in ADR 0601: subjects by event with the reported columns included."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        if on:
            _polite(conn)
            conn.execute("SET maintenance_work_mem = '256MB'")
            conn.execute(
                "CREATE INDEX IF NOT EXISTS ix_bench_subjects_covering ON audit_subjects (event_seq) "
                "INCLUDE (customer_id, case_id, exposure)"
            )
            conn.execute("VACUUM (ANALYZE) audit_subjects")
        else:
            conn.execute("DROP INDEX IF EXISTS ix_bench_subjects_covering")
    console.print(f"covering index {'on' if on else 'off'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["generate", "run", "covering-on", "covering-off", "drop"])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--chunk", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=7)
    # The generator gives each actor one kind of action: agent0 lists (5 customers per event, the heaviest),
    # agent123 opens cases, agent9 reveals.
    parser.add_argument("--actor", action="append", help="actor(s) to time (repeat); default agent0 agent123 agent9")
    parser.add_argument("--out", help="write the JSON result here (e.g. benchmarks/out/incident/run.json)")
    parser.add_argument("--seqscan-anchor", action="store_true", help="also time the join without the index")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.events, args.chunk)
    elif args.command == "run":
        run(args.runs, args.actor or ["agent0", "agent123", "agent9"], args.out, args.seqscan_anchor)
    elif args.command in ("covering-on", "covering-off"):
        covering(on=args.command == "covering-on")
    else:
        _admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        console.print(f"dropped {NAME}")


if __name__ == "__main__":
    main()
