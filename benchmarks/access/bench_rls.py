"""Row-level security cost on PostgreSQL with 1M cases: "list my open cases" with RLS vs the same query without.

Run: .venv/bin/python benchmarks/access/bench_rls.py [--cases 1000000] [--keep] [--rounds 400]

Creates its own database (cv_bench_access), migrates it to head (migration 0005_access installs the policies),
generates queues, staff, customers, cases and one note per case with generate_series, then times the same
statements as the non-owner application role with an agent bound (RLS on) and as the superuser (RLS bypassed),
interleaved so both see the same machine load. EXPLAIN ANALYZE of each is printed and written next to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import psycopg

from casevault.db import Database
from casevault.db.migrate import upgrade

ADMIN_DSN = os.environ.get("CASEVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NAME = "cv_bench_access"

GENERATE = [
    """INSERT INTO queues (id, name, description)
       SELECT gen_random_uuid(), 'queue-' || g, '' FROM generate_series(0, 49) g""",
    "CREATE TEMP TABLE q AS SELECT (substring(name from 7))::int AS n, id FROM queues",
    """INSERT INTO staff (id, username, display_name, role, status, created_at)
       SELECT gen_random_uuid(), 'agent-' || g, 'Agent ' || g, 'agent', 'active', now()
       FROM generate_series(0, 499) g""",
    """INSERT INTO staff (id, username, display_name, role, status, created_at)
       SELECT gen_random_uuid(), 'sup-' || g, 'Supervisor ' || g, 'supervisor', 'active', now()
       FROM generate_series(0, 9) g""",
    "CREATE TEMP TABLE a AS SELECT (substring(username from 7))::int AS n, id FROM staff WHERE role = 'agent'",
    # Agent n works queue n % 50; supervisor k supervises queues 5k … 5k+4.
    """INSERT INTO queue_memberships (queue_id, staff_id, role)
       SELECT q.id, a.id, 'member' FROM a JOIN q ON q.n = a.n % 50""",
    """INSERT INTO queue_memberships (queue_id, staff_id, role)
       SELECT q.id, s.id, 'supervisor' FROM staff s JOIN q ON q.n / 5 = (substring(s.username from 5))::int
       WHERE s.role = 'supervisor'""",
    """INSERT INTO customers (id, reference, country, name_sealed, email_sealed, email_index, created_at)
       SELECT gen_random_uuid(), 'CUST-' || lpad(g::text, 7, '0'), 'DE', '\\x00', '\\x00', sha256(g::text::bytea), now()
       FROM generate_series(0, {customers} - 1) g""",
    "CREATE TEMP TABLE cu AS SELECT (substring(reference from 6))::int AS n, id FROM customers",
    "CREATE INDEX ON cu (n)",
    # 1 in 5 cases unassigned (triage); the rest assigned to one of the 10 agents of the case's queue.
    # Status mix: ~17% open/pending/new, the rest resolved or closed, spread independently of queue and agent.
    """INSERT INTO cases (id, number, customer_id, queue_id, assignee_id, status, priority, subject_sealed,
                          subject_redacted, description_sealed, description_redacted, created_at, updated_at)
       SELECT gen_random_uuid(), 'CV-2026-' || lpad(i::text, 7, '0'), cu.id, q.id,
              CASE WHEN (i / 50) % 5 = 0 THEN NULL ELSE a.id END,
              CASE WHEN abs(hashint4(i)) % 100 < 12 THEN 'open' WHEN abs(hashint4(i)) % 100 < 15 THEN 'pending'
                   WHEN abs(hashint4(i)) % 100 < 17 THEN 'new' WHEN abs(hashint4(i)) % 100 < 30 THEN 'resolved'
                   ELSE 'closed' END,
              'normal', '\\x00', 'Case ' || i, '\\x00', 'Customer [EMAIL_ADDRESS:0a1b] cannot sign in',
              now() - make_interval(mins => i), now() - make_interval(mins => i)
       FROM generate_series(0, {cases} - 1) i
       JOIN cu ON cu.n = i % {customers}
       JOIN q ON q.n = i % 50
       JOIN a ON a.n = i % 50 + 50 * ((i / 250) % 10)""",
    """INSERT INTO notes (id, case_id, visibility, body_sealed, body_redacted, created_at)
       SELECT gen_random_uuid(), c.id, 'internal', '\\x00', 'Called back, [PHONE_NUMBER:77aa] unreachable', c.created_at
       FROM cases c""",
    "ANALYZE",
]

LIST_MY_OPEN = """
    SELECT id, number, subject_redacted, status, updated_at FROM cases
    WHERE assignee_id = %(me)s AND status IN ('new', 'open', 'pending')
    ORDER BY updated_at DESC LIMIT 50
"""
GET_BY_ID = "SELECT id, number, subject_redacted, status FROM cases WHERE id = %(case)s"
NOTES_OF_CASE = "SELECT id, body_redacted, created_at FROM notes WHERE case_id = %(case)s ORDER BY created_at"
SUPERVISOR_QUEUE = """
    SELECT id, number, status FROM cases WHERE queue_id = %(queue)s AND status = 'open'
    ORDER BY updated_at DESC LIMIT 50
"""


# Alternative policy shapes, measured against the shipped one (migration 0005_access) for docs/adr/0550.
VARIANTS = {
    "shipped": [],
    # A correlated EXISTS over the memberships, evaluated for every candidate row.
    "exists": [
        """ALTER POLICY cases_read ON cases USING (EXISTS (
              SELECT 1 FROM queue_memberships m JOIN staff s ON s.id = m.staff_id
              WHERE m.staff_id = NULLIF(current_setting('casevault.staff_id', true), '')::uuid
                AND s.status = 'active'
                AND (cases.assignee_id = m.staff_id
                     OR (cases.assignee_id IS NULL AND cases.queue_id = m.queue_id)
                     OR (m.role = 'supervisor' AND s.role = 'supervisor' AND cases.queue_id = m.queue_id))))"""
    ],
    # Child rows checked against an array of every visible case id (instead of one probe per row).
    "array-children": ["ALTER POLICY notes_read ON notes USING (case_id = ANY (ARRAY(SELECT id FROM cases)))"],
}


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def dsn(name: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


def build(cases: int) -> float:
    admin(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{NAME}"')
    database = Database(dsn(NAME).replace("postgresql://", "postgresql+psycopg://", 1))
    upgrade(database)
    database.dispose()
    started = time.perf_counter()
    with psycopg.connect(dsn(NAME)) as connection:
        for statement in GENERATE:
            connection.execute(statement.format(cases=cases, customers=max(1, cases // 5)))  # type: ignore[arg-type]
        connection.commit()
    return time.perf_counter() - started


def timed(connection: psycopg.Connection, sql: str, params: dict[str, object], staff: str | None) -> float:
    """One statement in its own transaction; with `staff`, that staff member is bound first (as bind_actor does)."""
    with connection.transaction():
        if staff is not None:
            connection.execute("SELECT set_config('casevault.staff_id', %s, true)", (staff,))
        start = time.perf_counter_ns()
        rows = connection.execute(sql, params).fetchall()  # type: ignore[arg-type]
        elapsed = (time.perf_counter_ns() - start) / 1e6
    if not rows and "LIMIT" in sql:
        raise RuntimeError("benchmark query returned no rows: the data or the binding is wrong")
    return elapsed


def explain(connection: psycopg.Connection, sql: str, params: dict[str, object], staff: str | None) -> str:
    with connection.transaction():
        if staff is not None:
            connection.execute("SELECT set_config('casevault.staff_id', %s, true)", (staff,))
        plan = connection.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()  # type: ignore[arg-type]
    return "\n".join(row[0] for row in plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--keep", action="store_true", help="reuse an existing benchmark database")
    parser.add_argument("--out", type=Path, default=None, help="write results (JSON) and plans (.plans.txt) here")
    parser.add_argument(
        "--variant", choices=sorted(VARIANTS), default="shipped", help="policy shape to measure (default: shipped)"
    )
    args = parser.parse_args()

    generation = None
    with psycopg.connect(ADMIN_DSN) as probe:
        exists = probe.execute("SELECT 1 FROM pg_database WHERE datname = %s", (NAME,)).fetchone()
    if not (args.keep and exists):
        generation = build(args.cases)

    # Two connections, as in production: the application's always runs as casevault_app (so its prepared plans
    # stay cached), the baseline's as the superuser, which bypasses row-level security.
    with (
        psycopg.connect(dsn(NAME), autocommit=True) as connection,
        psycopg.connect(dsn(NAME), autocommit=True) as app,
    ):
        shipped = connection.execute(
            "SELECT tablename, policyname, qual FROM pg_policies WHERE policyname IN ('cases_read', 'notes_read')"
        ).fetchall()
        for statement in VARIANTS[args.variant]:
            connection.execute(statement)  # type: ignore[arg-type]
        app.execute("SET ROLE casevault_app")
        # Guard against measuring nothing: the application connection must really be filtered.
        with app.transaction():
            unbound = app.execute("SELECT count(*) FROM cases").fetchone()
        if unbound != (0,):
            raise RuntimeError("row-level security is not applied to the application connection")
        counts = connection.execute("SELECT count(*) FROM cases").fetchone()
        agents = [
            str(row[0]) for row in connection.execute("SELECT id FROM staff WHERE role = 'agent' ORDER BY username")
        ]
        agents = [agent for agent in agents[:200] if agent]
        supervisors = connection.execute(
            "SELECT m.staff_id::text, m.queue_id FROM queue_memberships m WHERE m.role = 'supervisor' ORDER BY 1, 2"
        ).fetchall()
        own_cases = {
            agent: connection.execute("SELECT id FROM cases WHERE assignee_id = %s LIMIT 1", (agent,)).fetchone()[0]  # type: ignore[index]
            for agent in agents[:50]
        }
        workloads = {
            "list_my_open_cases": [(LIST_MY_OPEN, {"me": agent}, agent) for agent in agents],
            "get_case_by_id": [(GET_BY_ID, {"case": case}, agent) for agent, case in own_cases.items()],
            "notes_of_a_case": [(NOTES_OF_CASE, {"case": case}, agent) for agent, case in own_cases.items()],
            "supervisor_open_in_queue": [(SUPERVISOR_QUEUE, {"queue": queue}, sup) for sup, queue in supervisors],
        }
        results: dict[str, dict[str, float]] = {}
        plans: list[str] = []
        for name, items in workloads.items():
            for sql, params, staff in items[:20]:  # warm the caches and the prepared statements
                timed(app, sql, params, staff)
                timed(connection, sql, params, None)
            with_rls: list[float] = []
            without: list[float] = []
            for index in range(args.rounds):
                sql, params, staff = items[index % len(items)]
                # Alternate the order so neither variant always runs on a warmer cache.
                if index % 2:
                    with_rls.append(timed(app, sql, params, staff))
                    without.append(timed(connection, sql, params, None))
                else:
                    without.append(timed(connection, sql, params, None))
                    with_rls.append(timed(app, sql, params, staff))
            results[name] = {
                "with_rls_p50_ms": round(statistics.median(with_rls), 3),
                "without_rls_p50_ms": round(statistics.median(without), 3),
                "ratio_p50": round(statistics.median(with_rls) / statistics.median(without), 2),
                # Each round runs both variants back to back: the median of the per-round ratios is the figure
                # least disturbed by other processes on a shared machine.
                "paired_ratio_p50": round(statistics.median(w / o for w, o in zip(with_rls, without, strict=True)), 2),
                "with_rls_p90_ms": round(sorted(with_rls)[int(0.9 * len(with_rls))], 3),
                "without_rls_p90_ms": round(sorted(without)[int(0.9 * len(without))], 3),
            }
            sql, params, staff = items[0]
            plans.append(f"== {name}: with RLS (casevault_app, staff bound) ==\n{explain(app, sql, params, staff)}")
            plans.append(f"== {name}: without RLS (superuser) ==\n{explain(connection, sql, params, None)}")

        for table, policy, qual in shipped:  # put the shipped policies back
            connection.execute(f"ALTER POLICY {policy} ON {table} USING ({qual})")  # type: ignore[arg-type]

    summary = {
        "variant": args.variant,
        "cases": counts[0] if counts else 0,
        "generation_seconds": round(generation, 1) if generation is not None else None,
        "rounds": args.rounds,
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "cores": os.cpu_count(),
        "results": results,
    }
    print(json.dumps(summary, indent=2))
    print("\n\n".join(plans))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
        args.out.with_suffix(".plans.txt").write_text("\n\n".join(plans) + "\n")


if __name__ == "__main__":
    main()
