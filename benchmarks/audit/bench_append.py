"""Audit append throughput: record() per event and record_many() in batches, against a plain-INSERT anchor.

    .venv/bin/python benchmarks/audit/bench_append.py --events 100000 --repeat 3

Each run appends --events events (one subject each) to a fresh, migrated database, committing every
--per-commit events. The anchor inserts the same rows with a plain executemany and no chaining, in the same
run, so the ratio shows what the chain (lock, canonical encoding, SHA-256) costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import insert

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditSubject,
    Exposure,
    Subject,
    record,
    record_many,
    verify,
)
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.db.migrate import upgrade

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor(
    staff_id=uuid.uuid4(),
    username="agent.bench",
    role=Role.AGENT,
    method=AuthMethod.TOKEN,
    session_ref="token:0123456789abcdef",
    ip_prefix="10.0.0.0/24",
)
CUSTOMERS = [uuid.uuid4() for _ in range(1000)]


@contextmanager
def fresh_database(kind: str, template: str | None) -> Iterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            db = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
            upgrade(db)
            try:
                yield db
            finally:
                db.dispose()
        return
    name = f"cv_bench_append_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        yield db
    finally:
        db.dispose()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_record(db: Database, events: int, per_commit: int) -> None:
    done = 0
    while done < events:
        with db.unit_of_work() as session:
            for index in range(done, min(events, done + per_commit)):
                record(
                    session,
                    actor=ACTOR,
                    action=AuditAction.CASE_VIEWED,
                    target_type="case",
                    target_id=f"CV-2026-{index:06d}",
                    subjects=[Subject(CUSTOMERS[index % len(CUSTOMERS)], None, Exposure.OPENED)],
                    fields=["description"],
                )
        done += per_commit


def run_record_many(db: Database, events: int, per_commit: int) -> None:
    done = 0
    while done < events:
        with db.unit_of_work() as session:
            record_many(
                session,
                (
                    AuditEntry(
                        actor=ACTOR,
                        action=AuditAction.CASE_VIEWED,
                        target_type="case",
                        target_id=f"CV-2026-{index:06d}",
                        subjects=[Subject(CUSTOMERS[index % len(CUSTOMERS)], None, Exposure.OPENED)],
                        fields=["description"],
                    )
                    for index in range(done, min(events, done + per_commit))
                ),
            )
        done += per_commit


def run_plain_insert(db: Database, events: int, per_commit: int) -> None:
    """Anchor: the same rows, no lock, no canonical encoding, no hashing."""
    done = 0
    while done < events:
        with db.unit_of_work() as session:
            rows = [
                {
                    "seq": index + 1,
                    "encoding": 1,
                    "occurred_at": utcnow(),
                    "actor_id": ACTOR.staff_id,
                    "actor_label": ACTOR.username,
                    "session_ref": ACTOR.session_ref,
                    "ip_prefix": ACTOR.ip_prefix,
                    "action": "case.viewed",
                    "outcome": "allowed",
                    "reason": None,
                    "target_type": "case",
                    "target_id": f"CV-2026-{index:06d}",
                    "fields": ["description"],
                    "detail": {},
                    "prev_hash": b"\0" * 32,
                    "hash": b"\0" * 32,
                }
                for index in range(done, min(events, done + per_commit))
            ]
            session.execute(insert(AuditEvent), rows)
            session.execute(
                insert(AuditSubject),
                [
                    {"event_seq": row["seq"], "customer_id": CUSTOMERS[i % len(CUSTOMERS)], "exposure": "opened"}
                    for i, row in enumerate(rows)
                ],
            )
        done += per_commit


MODES: dict[str, Callable[[Database, int, int], None]] = {
    "plain-insert (anchor)": run_plain_insert,
    "record()": run_record,
    "record_many()": run_record_many,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--per-commit", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()

    template = None
    if args.db in ("postgresql", "both"):
        template = f"cv_bench_append_tpl_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{template}"')
        tpl = Database(f"postgresql+psycopg://postgres@127.0.0.1:5432/{template}")
        upgrade(tpl)
        tpl.dispose()
    try:
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        for kind in kinds:
            results: dict[str, list[float]] = {mode: [] for mode in MODES}
            cpu_rates: dict[str, list[float]] = {mode: [] for mode in MODES}
            for _ in range(args.repeat):
                for mode, run in MODES.items():
                    with fresh_database(kind, template) as db:
                        started, cpu = time.perf_counter(), time.process_time()
                        run(db, args.events, args.per_commit)
                        results[mode].append(args.events / (time.perf_counter() - started))
                        # This process's CPU only (SQLite: all of the work; PostgreSQL: the client side).
                        cpu_rates[mode].append(args.events / (time.process_time() - cpu))
                        if mode != "plain-insert (anchor)":
                            assert verify(db.engine, keys=[]).ok, "appended chain does not verify"
            anchor = statistics.median(results["plain-insert (anchor)"])
            print(f"{kind}: {args.events:,} events, commit every {args.per_commit}, median of {args.repeat}")
            for mode, rates in results.items():
                median = statistics.median(rates)
                print(
                    f"  {mode:24s} {median:>10,.0f} events/s wall   ratio to anchor {median / anchor:.2f}   "
                    f"{statistics.median(cpu_rates[mode]):>10,.0f} events per client CPU-second"
                )
    finally:
        if template is not None:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


if __name__ == "__main__":
    main()
